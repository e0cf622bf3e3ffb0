// The dev provider's own pages: plain HTML, no script, nothing loaded from elsewhere.

export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}' +
  'h1{font-size:1.5rem}.banner{background:#fff4ce;border:1px solid #c19c00;padding:.5rem 1rem}' +
  'button{font:inherit;margin:.25rem 0;padding:.4rem .8rem;cursor:pointer}.user{display:block;width:100%;text-align:left}' +
  '.roles{color:#555;font-size:.9em}.error{color:#a4262c}ul{list-style:none;padding:0}'

/**
 * No other site may frame the pages, and no injected script runs: oidc-provider adds the hash of its
 * own auto-submitting form (form_post, the device link) to script-src. Forms are left free: they
 * post and then redirect back to the client, which form-action would check too.
 */
export const DEV_PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"

export function page (title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Lockbox dev provider</title><style>${STYLE}</style></head>
<body>
<p class="banner">Lockbox dev provider: for development only. Anyone can sign in as anyone here.</p>
${body}
</body>
</html>`
}
