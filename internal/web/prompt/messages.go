package prompt

// Every user-facing string of the prompt that is not in a template. Short,
// plain, second person: what happened and what to do next (WEB.md).
const (
	msgChooseTitle   = "Choose how to log in"
	msgPasscodeTitle = "Enter a passcode"
	msgWaitPushTitle = "Check your phone"
	msgWaitCallTitle = "Answer the call"
	msgEnrollTitle   = "Set up two-step login first"
	msgLockedTitle   = "Your account is locked"
	msgEndedTitle    = "This login has ended"
	msgKeyTitle      = "Use your security key"
	msgKeyMissing    = "Your security key's answer did not arrive. Touch your key again when your browser asks."

	msgPasscodeMissing = "Enter the passcode from your app, token or text message."
	msgPasscodeLong    = "A passcode is at most 44 characters. Check what you typed."
	msgIncorrect       = "Incorrect passcode. Check it and try again."
	msgUsed            = "That passcode was already used. Open the twostep app and tap refresh for a new one, then enter it."
	msgSMSSent         = "We sent new passcodes to %s. Enter one of them below."
	msgSMSSentNext     = "We sent new passcodes to %s. The next passcode starts with %s."
	msgSMSFailed       = "We could not send the text message. Try again in a minute, or choose another way to log in."
	msgCallFailed      = "We could not place the phone call. Try again in a minute, or choose another way to log in."
	msgNoDevice        = "That device cannot do this. Choose another way to log in."
	msgChooseAgain     = "Choose a way to log in."
	msgCancelled       = "You cancelled the login request. Choose another way to log in."
	msgTimedOut        = "The login request timed out before it was approved. Send another, or choose another way to log in."
	msgCallTimedOut    = "The call ended without an answer. Call again, or choose another way to log in."
	msgDenied          = "The login request was denied. If that was not you, tell your administrator. Otherwise choose another way to log in."
	msgFraud           = "You reported the login request as fraudulent, so it was denied and your administrator was told."
	msgNotYet          = "The request has not been approved yet. Approve it in the twostep app, then press Continue."
	msgNotYetCall      = "The call has not been answered yet. Answer it and press 1, then press Continue."
	msgNothingPending  = "There is no login request waiting. Choose a way to log in."
	msgWaitingCode     = "Waiting for you to approve the request in the twostep app."
	msgWaitingPush     = "Login request sent. Open the twostep app and approve it."
	msgWaitingCall     = "Calling your phone. Answer it and press 1 to approve."
	msgApproved        = "Approved. Logging you in…"
	msgStatusLost      = "Lost contact with the server. When you have approved the request, press Continue."
)
