/** asl-validator 4 ships no types. It mutates the definition it is given: pass a clone. */
declare module 'asl-validator' {
  interface AslValidatorResult {
    readonly isValid: boolean;
    readonly errors: ReadonlyArray<{ readonly message?: string } & Record<string, unknown>>;
    errorsText(separator?: string): string;
  }
  function aslValidator(definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }): AslValidatorResult;
  export default aslValidator;
}
