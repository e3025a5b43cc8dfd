package selfbypass

// The pages' words (templates hold the rest).
const (
	msgTitle            = "Get a bypass code"
	msgUsername         = "Username"
	msgPassword         = "Password"
	msgUnavailableTitle = "Bypass codes are not available here"
	msgRefusedTitle     = "We cannot give you a bypass code"
	msgVerifyTitle      = "Confirm who you are"
	msgPIN              = "Your self-service PIN"
	msgPINHint          = "The 6 to 12 digit PIN you set in My Settings & Devices."
	msgDOB              = "Date of birth"
	msgDOBHint          = "For example 1984-03-07."
	msgIDLast4          = "Last 4 digits of your ID number"
	msgIDLast4Hint      = "The ID number your organisation has on record."
	msgCodeTitle        = "Your bypass code"
	msgPINTitle         = "Your self-service PIN"
	msgNewPIN           = "New PIN"
	msgNewPINHint       = "6 to 12 digits. Not one digit repeated, and not a run such as 123456."
	msgConfirmPIN       = "Type the new PIN again"
	msgPINMismatch      = "The two PINs are not the same. Type the same PIN in both boxes."
	msgPINSavedTitle    = "PIN saved"
	msgPINSaved         = "Your new PIN is set. Keep it to yourself: with your password it gets a bypass code for your account."
)
