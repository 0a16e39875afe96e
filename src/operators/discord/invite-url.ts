/**
 * The OAuth2 URL that adds the relay's bot to a server: the `bot` scope (so it shares a server with
 * the operators, which lets it DM them) and `applications.commands` (its `/status`, `/login` and
 * `/cancel`). Permissions 0: the relay only writes in DMs and answers interactions, neither of which
 * needs a server permission.
 */
export function discordInviteUrl(applicationId: string): string {
  const url = new URL('https://discord.com/oauth2/authorize');
  url.searchParams.set('client_id', applicationId);
  url.searchParams.set('scope', 'bot applications.commands');
  url.searchParams.set('permissions', '0');
  // A server install (not a user install): the operators and the bot meet in a server.
  url.searchParams.set('integration_type', '0');
  return url.href;
}
