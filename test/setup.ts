// aws-local-stepfunctions needs Promise.withResolvers, which Node 20 lacks.
import '../infra/local/polyfills';
// The pinned SDK supports Node 20; its notice about future releases would repeat in every test file.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The tests start their own moto_server and reset it between tests: an AWS_ENDPOINT_URL left in the shell (a
// LocalStack, a moto of one's own) must be neither used nor reset by them.
delete process.env.AWS_ENDPOINT_URL;
