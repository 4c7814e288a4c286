/**
 * Text from outside (alarm reasons, tags, operator reasons, error messages) on its way into a Slack
 * message: `&`, `<` and `>` escaped as Slack asks, so it cannot mention a channel or a user (`<!channel>`,
 * `<@U…>`) nor add a link (`<https://…|…>`).
 * @see https://api.slack.com/reference/surfaces/formatting#escaping
 */
export function slackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
