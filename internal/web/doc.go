// Package web is twostep's browser surface, on its own mux: pages a person
// opens, not signed API calls. It serves, for now, what the Admin API's
// activation links point at:
//
//	GET /frame/qr?value=...  a PNG QR code of value (Duo's activation_barcode)
//	GET /activate/{code}     how to activate the app with an activation code
//	GET /install             how to install the app (installation_url)
//	GET /static/twostep.css  the pages' stylesheet
//
// Pages are html/template with embedded templates and a strict Content
// Security Policy (no scripts, no inline styles), and work without
// JavaScript. Pages that show an activation code are never cached.
//
// It may import mfa and services; it must not import sqlstore, notify or
// the API packages (internal/archtest enforces it).
package web
