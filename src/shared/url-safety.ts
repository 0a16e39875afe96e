/**
 * Two checks on the URLs the relay sends secrets to (`ETNA_API_URL`, `DISCORD_API_URL`): whether a
 * host is this machine, and how to show a URL in an error without what may be secret in it.
 */

/** IPv4 loopback, as WHATWG URL writes it (it normalises `127.1` and `0x7f.0.0.1` to this form). */
const IPV4_LOOPBACK = /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/;

/**
 * Whether `hostname` (a parsed URL's `hostname`) is this machine: `127.0.0.0/8`, `[::1]` or
 * `localhost`. Plain http is accepted only there (the sandbox broker, the Discord emulator): nothing
 * sent to it leaves the machine.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || IPV4_LOOPBACK.test(host);
}

/** Characters a value that is not a URL may have to be shown: none that could set off a secret. */
const PLAIN_TEXT = /^[A-Za-z0-9._~/-]{1,80}$/;

/**
 * A URL as an error message may show it, quoted: scheme, host and path only. The user and password,
 * the query and the fragment are left out, since any of them may carry a secret (a password, an
 * API key in `?key=`). A value that does not parse as a URL is shown only when it holds nothing but
 * letters, digits and `._~/-`; one that parses without a host is not shown.
 */
export function urlForMessage(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url !== undefined && url.host !== '')
    return JSON.stringify(`${url.protocol}//${url.host}${url.pathname}`);
  // Without a host, even the "scheme" may be a user name (`trader:password@host`).
  return url === undefined && PLAIN_TEXT.test(text) ? JSON.stringify(text) : 'the value (not shown)';
}
