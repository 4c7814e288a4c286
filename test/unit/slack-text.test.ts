import { describe, expect, it } from 'vitest';
import { slackText } from '../../functions/core/slack-text';

/** What Slack shows for message text: its three entities decoded, `&amp;` last (Slack's own order). */
const shownBySlack = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

describe('slackText', () => {
  it.each([
    ['a channel alert', '<!channel>', '&lt;!channel&gt;'],
    ['an @here alert', 'deploy now <!here>', 'deploy now &lt;!here&gt;'],
    ['a user mention', '<@U123>', '&lt;@U123&gt;'],
    ['a channel link', '<#C0DEPLOYS>', '&lt;#C0DEPLOYS&gt;'],
    ['a link with a label', '<https://evil|click>', '&lt;https://evil|click&gt;'],
    ['an entity typed as text', '&amp;', '&amp;amp;'],
    ['an ampersand before a bracket', '&<', '&amp;&lt;'],
    ['a comparison', 'p99 > 2s && 5xx < 1%', 'p99 &gt; 2s &amp;&amp; 5xx &lt; 1%'],
    ['plain text', 'alarm checkout-5xx in ALARM: Threshold Crossed', 'alarm checkout-5xx in ALARM: Threshold Crossed'],
    ['mrkdwn that is no control sequence', '*bold* _italic_ `code`', '*bold* _italic_ `code`'],
    ['nothing', '', ''],
  ])('escapes %s', (_case, text, escaped) => {
    expect(slackText(text)).toBe(escaped);
  });

  it.each(['<!channel>', '<@U123>', '<https://evil|click>', '&amp;', '&lt;!channel&gt;', 'a & b <c> d'])('shows %j in Slack exactly as it came, with no bracket left to parse', (text) => {
    const escaped = slackText(text);

    expect(escaped).not.toMatch(/[<>]/);
    expect(shownBySlack(escaped)).toBe(text);
  });
});
