package login

// Every user-facing string of the first-factor pages that is not in a
// template.
const (
	msgLoginTitle     = "Log in"
	msgEndedTitle     = "This login has ended"
	msgLoggedOutTitle = "You are logged out"
	msgUsername       = "Username"
	msgPassword       = "Password"
)
