package otp

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Yubico OTP layout: an optional modhex public id of 0..16 bytes followed by
// one AES-128 block (32 modhex characters). The decrypted block is, little
// endian: private id [6], usage counter uint16 (top bit: caps lock was on),
// timestamp low uint16, timestamp high uint8, session counter uint8, random
// uint16, CRC-16 uint16.
const (
	yubiBlockChars   = 32
	yubiMaxPublicID  = 32 // modhex characters (16 bytes)
	YubiKeyMinLength = yubiBlockChars
	YubiKeyMaxLength = yubiBlockChars + yubiMaxPublicID
	yubiCapsLockBit  = 0x8000
	yubiCRCResidual  = 0xf0b8
)

// Errors from ParseYubiKeyOTP. They never contain the OTP or the key.
var (
	// ErrYubiKeyFormat: not 32 to 64 modhex characters of even length.
	ErrYubiKeyFormat = errors.New("otp: malformed YubiKey OTP")
	// ErrYubiKeyCRC: the decrypted block fails its checksum, which means a
	// wrong AES key (another YubiKey) or a corrupted OTP.
	ErrYubiKeyCRC = errors.New("otp: YubiKey OTP checksum mismatch")
	// ErrYubiKeyIdentity: the block decrypts but carries another private id.
	ErrYubiKeyIdentity = errors.New("otp: YubiKey OTP private id mismatch")
)

// YubiKeyOTP is a decrypted Yubico OTP. Its String and LogValue methods
// leave out the private id, which is secret.
type YubiKeyOTP struct {
	PublicID       string  // modhex prefix, lower case; usually 12 characters, may be empty
	PrivateID      [6]byte // secret id inside the encrypted block
	UseCounter     uint16  // non-volatile usage counter, 15 bits (the caps-lock flag is removed)
	SessionCounter uint8   // counter within one power-up
	Timestamp      uint32  // 24-bit 8 Hz timer, random at power-up
	Random         uint16
}

// Counter combines the usage and session counters into one value that
// increases with every OTP the key emits: uint32(UseCounter)<<8 |
// uint32(SessionCounter). A verifier accepts an OTP only if its Counter is
// above the last one accepted for the key.
func (y YubiKeyOTP) Counter() uint32 {
	return uint32(y.UseCounter)<<8 | uint32(y.SessionCounter)
}

// String describes y without the private id.
func (y YubiKeyOTP) String() string {
	return fmt.Sprintf("YubiKeyOTP{PublicID:%s Counter:%d}", y.PublicID, y.Counter())
}

// LogValue implements slog.LogValuer without the private id.
func (y YubiKeyOTP) LogValue() slog.Value {
	return slog.GroupValue(slog.String("public_id", y.PublicID), slog.Uint64("counter", uint64(y.Counter())))
}

// crc16 is the ISO 13239 CRC-16 (reflected polynomial 0x8408, initial
// 0xffff) Yubico OTP uses. Over a block that includes its own stored
// checksum it yields yubiCRCResidual.
func crc16(b []byte) uint16 {
	crc := uint16(0xffff)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			lsb := crc & 1
			crc >>= 1
			if lsb != 0 {
				crc ^= 0x8408
			}
		}
	}
	return crc
}

// ParseYubiKeyOTP decodes otp (32 to 64 modhex characters, either case),
// decrypts its last 32 characters with aesKey (16 bytes), checks the CRC-16
// and checks in constant time that the private id equals wantPrivateID
// (6 bytes). The caller still has to check that PublicID names the key it
// looked up and that Counter is above the last accepted one.
//
// Errors: ErrYubiKeyFormat, ErrYubiKeyCRC, ErrYubiKeyIdentity, or a plain
// error for an aesKey or wantPrivateID of the wrong length (a configuration
// mistake).
func ParseYubiKeyOTP(otp string, aesKey []byte, wantPrivateID []byte) (YubiKeyOTP, error) {
	if len(aesKey) != 16 {
		return YubiKeyOTP{}, fmt.Errorf("otp: YubiKey AES key is %d bytes, want 16", len(aesKey))
	}
	if len(wantPrivateID) != 6 {
		return YubiKeyOTP{}, fmt.Errorf("otp: YubiKey private id is %d bytes, want 6", len(wantPrivateID))
	}
	if len(otp) < YubiKeyMinLength || len(otp) > YubiKeyMaxLength || !IsModhex(otp) {
		return YubiKeyOTP{}, ErrYubiKeyFormat
	}
	split := len(otp) - yubiBlockChars
	ct, err := DecodeModhex(otp[split:])
	if err != nil {
		return YubiKeyOTP{}, ErrYubiKeyFormat
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return YubiKeyOTP{}, fmt.Errorf("otp: YubiKey AES key: %w", err)
	}
	var pt [aes.BlockSize]byte
	block.Decrypt(pt[:], ct)
	if crc16(pt[:]) != yubiCRCResidual {
		return YubiKeyOTP{}, ErrYubiKeyCRC
	}
	if subtle.ConstantTimeCompare(pt[:6], wantPrivateID) != 1 {
		return YubiKeyOTP{}, ErrYubiKeyIdentity
	}
	y := YubiKeyOTP{
		PublicID:       strings.ToLower(otp[:split]),
		UseCounter:     binary.LittleEndian.Uint16(pt[6:8]) &^ yubiCapsLockBit,
		Timestamp:      uint32(binary.LittleEndian.Uint16(pt[8:10])) | uint32(pt[10])<<16,
		SessionCounter: pt[11],
		Random:         binary.LittleEndian.Uint16(pt[12:14]),
	}
	copy(y.PrivateID[:], pt[:6])
	return y, nil
}

// EncodeYubiKeyOTP is the inverse of ParseYubiKeyOTP: it builds the block a
// YubiKey would emit for y and encrypts it with aesKey. It is for tests and
// software emulators. y.PublicID must be empty or modhex of at most 32
// characters, UseCounter below 0x8000 and Timestamp below 1<<24.
func EncodeYubiKeyOTP(y YubiKeyOTP, aesKey []byte) (string, error) {
	if len(aesKey) != 16 {
		return "", fmt.Errorf("otp: YubiKey AES key is %d bytes, want 16", len(aesKey))
	}
	if y.PublicID != "" && !IsModhex(y.PublicID) || len(y.PublicID) > yubiMaxPublicID {
		return "", errors.New("otp: YubiKey public id must be modhex of at most 32 characters")
	}
	if y.UseCounter&yubiCapsLockBit != 0 {
		return "", errors.New("otp: YubiKey usage counter above 0x7fff")
	}
	if y.Timestamp >= 1<<24 {
		return "", errors.New("otp: YubiKey timestamp above 24 bits")
	}
	var pt [aes.BlockSize]byte
	copy(pt[:6], y.PrivateID[:])
	binary.LittleEndian.PutUint16(pt[6:8], y.UseCounter)
	binary.LittleEndian.PutUint16(pt[8:10], uint16(y.Timestamp))
	pt[10] = byte(y.Timestamp >> 16)
	pt[11] = y.SessionCounter
	binary.LittleEndian.PutUint16(pt[12:14], y.Random)
	binary.LittleEndian.PutUint16(pt[14:16], ^crc16(pt[:14]))
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return "", fmt.Errorf("otp: YubiKey AES key: %w", err)
	}
	var ct [aes.BlockSize]byte
	block.Encrypt(ct[:], pt[:])
	return strings.ToLower(y.PublicID) + EncodeModhex(ct[:]), nil
}
