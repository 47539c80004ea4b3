package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// SignatureHeader carries the body's HMAC SHA-256 under the webhook secret.
const SignatureHeader = "X-Hub-Signature-256"

// Sign returns the X-Hub-Signature-256 value GitHub sends for body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// maxConcurrentReads is how many webhook bodies are read at once.
const maxConcurrentReads = 32

// parseSignature returns the digest in header if it is "sha256=" and 64 hex
// digits.
func parseSignature(header string) ([]byte, bool) {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != sha256.Size*2 {
		return nil, false
	}
	got, err := hex.DecodeString(hexSig)
	return got, err == nil
}

// wellFormedSignature reports whether header could be a signature at all,
// before any body is read.
func wellFormedSignature(header string) bool {
	_, ok := parseSignature(header)
	return ok
}

// validSignature reports whether header is well formed and matches body
// under any of secrets. Each comparison is constant-time; every secret is
// tried so the time taken does not tell which one matched.
func validSignature(secrets [][]byte, header string, body []byte) bool {
	got, ok := parseSignature(header)
	if !ok {
		return false
	}
	match := false
	for _, secret := range secrets {
		if len(secret) == 0 {
			continue // an empty secret would let anyone sign
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		if hmac.Equal(got, mac.Sum(nil)) {
			match = true
		}
	}
	return match
}
