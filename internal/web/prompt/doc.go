// Package prompt is the browser prompt: the pages where a person completes
// the second factor of a login that an application handed to twostep (the
// Universal Prompt, internal/oidc; later the OIDC provider, the portal and
// the console).
//
// The browser arrives at mfa.LoginPromptPath(id) with the login's binding
// cookie. Every page and action loads the login through authflow
// (Service.Login: the cookie must match), runs the second factor through
// the same engine as the Auth API (Preauth, Auth, AuthStatusAsked, Cancel,
// Settle), records the decision with Service.CompleteLogin (the auth-log
// txid of the decision becomes the id_token's auth_context) and sends the
// browser to the login's ReturnPath, where oidc hands it back to the
// application. A pending push's txid lives in the server-side session,
// under the login's id, never in a form or URL.
//
// Pages (routes.go): the method choice (devices, their methods, "Remember
// me for N days"), the push and call waiting page with live status
// (static/prompt.js long-polls the JSON status route; without script a
// "continue" button checks once), the passcode form (with "Text me new
// codes" and the next SMS passcode's first digit), the enrolment page, the
// locked-out page and the ended-login page. Words are in the templates and
// messages.go.
package prompt
