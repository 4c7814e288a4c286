import { describe, expect, it } from 'vitest';
import { HELP, STATUS_DIRECT_MAX_SERVICES, VERBS, authorise, mayTakeLong, parseCommand, type Actor } from '../../functions/chat/commands';
import type { ChatAccess } from '../../functions/core/config';
import { serviceConfig } from '../fixtures/state';

const OPERATOR = 'U0OPERATOR';
const INTRUDER = 'U0INTRUDER';
const DEPLOYS = 'C0DEPLOYS';
const RANDOM = 'C0RANDOM';

const slack = (user: string, channel?: string): Actor => ({ user, channel, via: 'slack' });
const checkout = (chat?: ChatAccess) => serviceConfig({ chat });

describe('parseCommand', () => {
  it.each(VERBS.filter((v) => v !== 'help'))('reads the verb %s with its service', (verb) => {
    expect(parseCommand(`${verb} checkout`)).toEqual({ verb, service: 'checkout', args: [] });
  });

  it.each<[string, string, unknown]>([
    ['an uppercase verb', 'STATUS checkout', { verb: 'status', service: 'checkout', args: [] }],
    ['a mixed-case verb, keeping the case of the service', 'RollBack Checkout', { verb: 'rollback', service: 'Checkout', args: [] }],
    ['extra spaces everywhere', '   rollback   checkout    p99   looks  wrong  ', { verb: 'rollback', service: 'checkout', args: ['p99', 'looks', 'wrong'] }],
    ['tabs and newlines as spaces', 'promote\tcheckout\n--full', { verb: 'promote', service: 'checkout', args: ['--full'] }],
    ['a verb without a service', 'status', { verb: 'status', service: undefined, args: [] }],
    ['a service name with digits, - and _', 'history checkout_v2-eu', { verb: 'history', service: 'checkout_v2-eu', args: [] }],
    ['a service name of 40 characters', `status ${'a'.repeat(40)}`, { verb: 'status', service: 'a'.repeat(40), args: [] }],
    ['help', 'help', { verb: 'help', service: undefined, args: [] }],
    ['empty text as help', '', { verb: 'help', args: [] }],
    ['blank text as help', '  \t ', { verb: 'help', args: [] }],
  ])('reads %s', (_case, text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it('answers an unknown verb by name, with the usage', () => {
    const parsed = parseCommand('deploy checkout');

    expect(parsed).toEqual({ error: `unknown command "deploy". ${HELP}` });
  });

  it('clips a long unknown verb in its answer', () => {
    const parsed = parseCommand(`${'x'.repeat(500)} checkout`);

    expect(parsed).toEqual({ error: `unknown command "${'x'.repeat(40)}". ${HELP}` });
  });

  it.each([
    ['checkout;rm -rf /', 'checkout;rm'],
    ['<@U1>', '<@U1>'],
    ['<!channel>', '<!channel>'],
    ['checkout$(id)', 'checkout$(id)'],
    ['../checkout', '../checkout'],
    ['check`out`', 'check`out`'],
    ['*checkout*', '*checkout*'],
    ['checkout.prod', 'checkout.prod'],
    ['a'.repeat(41), 'a'.repeat(40)],
  ])('refuses the service name %j with a clear message', (service, shown) => {
    const parsed = parseCommand(`rollback ${service}`);

    expect(parsed).toEqual({ error: `"${shown}" is not a service name (letters, digits, - and _ only)` });
  });
});

describe('authorise', () => {
  it.each<[string, ChatAccess | undefined]>([
    ['no chat configuration', undefined],
    ['lists that name neither the user nor the channel', { channels: [DEPLOYS], users: [OPERATOR] }],
  ])('lets a CLI caller through with %s (IAM authorises the CLI)', (_case, chat) => {
    expect(authorise(checkout(chat), { user: 'alice', via: 'cli' })).toEqual({ ok: true });
  });

  it.each<[string, ChatAccess | undefined]>([
    ['no chat configuration', undefined],
    ['empty lists', { channels: [], users: [] }],
  ])('refuses every Slack caller when the service has %s', (_case, chat) => {
    expect(authorise(checkout(chat), slack(OPERATOR, DEPLOYS))).toEqual({
      ok: false,
      reason: 'chat commands are not enabled for checkout (its configuration lists no Slack channel or user)',
    });
  });

  const channelOnly: ChatAccess = { channels: [DEPLOYS] };
  const userOnly: ChatAccess = { users: [OPERATOR] };
  const both: ChatAccess = { channels: [DEPLOYS], users: [OPERATOR] };
  const wrongChannel = 'checkout cannot be steered from this channel';
  const wrongUser = (user: string) => `<@${user}> may not steer checkout`;

  it.each<[string, ChatAccess, Actor]>([
    ['a channel list, from a listed channel, any user', channelOnly, slack(INTRUDER, DEPLOYS)],
    ['a user list, a listed user, any channel', userOnly, slack(OPERATOR, RANDOM)],
    ['a user list, a listed user, no channel', userOnly, slack(OPERATOR)],
    ['both lists, a listed user in a listed channel', both, slack(OPERATOR, DEPLOYS)],
    ['a user among several', { users: ['U0FIRST', OPERATOR, 'U0LAST'] }, slack(OPERATOR, RANDOM)],
  ])('allows %s', (_case, chat, actor) => {
    expect(authorise(checkout(chat), actor)).toEqual({ ok: true });
  });

  it.each<[string, ChatAccess, Actor, string]>([
    ['a channel list, from another channel', channelOnly, slack(OPERATOR, RANDOM), wrongChannel],
    ['a channel list, from no channel', channelOnly, slack(OPERATOR), wrongChannel],
    ['a user list, another user', userOnly, slack(INTRUDER, DEPLOYS), wrongUser(INTRUDER)],
    ['a user list, a user whose ID only differs in case', userOnly, slack(OPERATOR.toLowerCase(), DEPLOYS), wrongUser(OPERATOR.toLowerCase())],
    ['both lists, a listed user in another channel', both, slack(OPERATOR, RANDOM), wrongChannel],
    ['both lists, another user in a listed channel', both, slack(INTRUDER, DEPLOYS), wrongUser(INTRUDER)],
    ['both lists, another user in another channel (the channel is named first)', both, slack(INTRUDER, RANDOM), wrongChannel],
    ['a user list, a channel ID given as the user', userOnly, slack(DEPLOYS, DEPLOYS), wrongUser(DEPLOYS)],
  ])('refuses %s, with the reason', (_case, chat, actor, reason) => {
    expect(authorise(checkout(chat), actor)).toEqual({ ok: false, reason });
  });
});

describe('mayTakeLong: which commands are acknowledged first and answered through response_url', () => {
  const services = [checkout({ users: [OPERATOR] }), serviceConfig({ name: 'billing', repository: 'billing' })];
  const many = (n: number) => Array.from({ length: n }, (_, i) => serviceConfig({ name: `svc${i}`, repository: `svc${i}`, chat: { users: [OPERATOR] } }));

  it.each<[string, string, Actor, boolean]>([
    ['a rollback the caller may send', 'rollback checkout p99 looks wrong', slack(OPERATOR), true],
    ['a rollback in any case', 'RollBack checkout', slack(OPERATOR), true],
    ['a rollback from a caller the service does not list (refused at once)', 'rollback checkout', slack(INTRUDER), false],
    ['a rollback of a service without chat access (refused at once)', 'rollback billing', slack(OPERATOR), false],
    ['a rollback of an unknown service (refused at once)', 'rollback nosuch', slack(OPERATOR), false],
    ['a rollback without a service (refused at once)', 'rollback', slack(OPERATOR), false],
    ['status of one service', 'status checkout', slack(OPERATOR), false],
    ['promote', 'promote checkout --full', slack(OPERATOR), false],
    ['pause', 'pause checkout', slack(OPERATOR), false],
    ['history', 'history checkout', slack(OPERATOR), false],
    ['an unknown verb', 'deploy checkout', slack(OPERATOR), false],
  ])('%s: %s', (_case, text, actor, expected) => {
    expect(mayTakeLong(text, actor, services)).toBe(expected);
  });

  it(`defers status without a service only beyond ${STATUS_DIRECT_MAX_SERVICES} services the caller may steer`, () => {
    expect(mayTakeLong('status', slack(OPERATOR), many(STATUS_DIRECT_MAX_SERVICES))).toBe(false);
    expect(mayTakeLong('status', slack(OPERATOR), many(STATUS_DIRECT_MAX_SERVICES + 1))).toBe(true);
    expect(mayTakeLong('status', slack(INTRUDER), many(STATUS_DIRECT_MAX_SERVICES + 1))).toBe(false);
  });
});
