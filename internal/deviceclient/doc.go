// Package deviceclient is the client side of twostep's device API
// (docs/device-api.md, /push/v2/*): what an authenticator app speaks to a
// twostep server.
//
// It owns:
//
//   - activation codes as people receive them ([ParseActivation]): the bare
//     "<CODE>-<HOST64>" code (optionally "duo://"), the activation page URL
//     https://host/activate/<CODE>-<HOST64>, the barcode URL
//     https://host/frame/qr?value=..., and QR images of them ([DecodeQR]);
//   - activation ([Client.Activate]): the unsigned POST that registers the
//     device's RSA public key and returns the install's keys and HOTP secret;
//   - signed device requests ([Device]): RSASSA-PKCS1-v1_5 with SHA-512 over
//     duoproto.CanonV2 with an X-Duo-Date header, listing pending login
//     requests (with the long-poll wait), answering them, and deregistering
//     the install when the app removes the account ([Device.Deregister]);
//   - Duo's {stat, response} / {stat, code, message, message_detail}
//     envelope, failures as [*Error] with helpers for what an app must
//     handle ([IsRevoked], [IsIncorrectCode], [Temporary]).
//
// It imports only the standard library, internal/duoproto and the QR
// decoder. It must not import the server side (deviceapi, authflow,
// sqlstore) or the vault: the caller stores what activation returns.
// Private keys and HOTP secrets never appear in its errors.
package deviceclient
