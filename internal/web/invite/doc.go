// Package invite serves the administrator activation page: where someone
// invited with an activation link (POST /admin/v1/admins/activations)
// chooses a name and a password and becomes an administrator.
//
//	GET  /console/activate/{code}   the invitation: email, role, expiry, and the form
//	POST /console/activate/{code}   name + password (twice) -> admin.RedeemAdminActivation
//
// The code is the secret: an unknown, used or expired one gets one "this
// link does not work" page. The new administrator signs in to the console
// next and sets up a second factor there before anything else. Pages call
// the admin service only.
package invite
