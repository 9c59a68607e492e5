package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is where the embedded default keeps its signing key, under the data directory.
func KeyFile(dataDir string) string { return filepath.Join(dataDir, "keys", "token-ed25519.pem") }

// LoadOrCreateKey reads the Ed25519 signing key at path, creating one (mode 0600) when there is
// none.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	key, err := LoadKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey(path) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("create token key: %w", err)
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("write token key %s: %w", path, err)
	}
	return key, nil
}

// LoadKey reads an Ed25519 private key in PKCS #8 PEM form.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("read token key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read token key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read token key %s: not an Ed25519 key", path)
	}
	return key, nil
}

// LoadPublicKey reads a public key (Ed25519, ECDSA or RSA) in PKIX PEM form, as an identity
// provider publishes it.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token public key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("read token public key %s: no PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read token public key %s: %w", path, err)
	}
	return k, nil
}

// CSRFKeyFile is where serve keeps the key that signs form tokens, under the data directory.
func CSRFKeyFile(dataDir string) string { return filepath.Join(dataDir, "keys", "csrf.key") }

// PseudonymKeyFile is where serve keeps the pseudonym key, under the data directory.
func PseudonymKeyFile(dataDir string) string { return filepath.Join(dataDir, "keys", "pseudonym.key") }

// LoadOrCreateSecret reads the 32-byte secret key at path (the pseudonym key, the form key),
// creating it (mode 0600) if missing.
func LoadOrCreateSecret(path string) ([]byte, error) {
	return loadOrCreate(path, func(key []byte) []byte { return key })
}

// NATSUser is the service's own user of serve's embedded NATS node, the one with every right:
// the log, the meeting index, the revocation bucket, the JetStream API.
const NATSUser = "aabendialog"

// NATSPasswordFile is where serve keeps the password of NATSUser, under the data directory:
// text, for tools such as nats --password "$(cat data/keys/nats.password)".
func NATSPasswordFile(dataDir string) string { return filepath.Join(dataDir, "keys", "nats.password") }

// NATSClientUser is the client user serve's embedded node has by default: it may send commands
// and queries and receive its own replies, nothing else.
const NATSClientUser = "client"

// NATSClientPasswordFile is where serve keeps the password of the client user named user, under
// the data directory: DATA/keys/nats-<user>.password.
func NATSClientPasswordFile(dataDir, user string) string {
	return filepath.Join(dataDir, "keys", "nats-"+user+".password")
}

// LoadOrCreatePassword reads the password at path, creating a random one (64 hexadecimal
// characters, mode 0600) if missing.
func LoadOrCreatePassword(path string) (string, error) {
	b, err := loadOrCreate(path, func(key []byte) []byte { return []byte(hex.EncodeToString(key)) })
	if err != nil {
		return "", err
	}
	// Someone may have written their own, with an editor's newline.
	if pw := strings.TrimSpace(string(b)); len(pw) >= 32 {
		return pw, nil
	}
	return "", fmt.Errorf("password %s is too short: want at least 32 characters", path)
}

// loadOrCreate reads the secret file at path, or writes encode(32 random bytes) there, once even
// when two processes start together.
func loadOrCreate(path string, encode func([]byte) []byte) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("key %s is too short: want at least 32 bytes", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	key = encode(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreate(path, encode)
	}
	if err != nil {
		return nil, err
	}
	if err := errors.Join(func() error { _, err := f.Write(key); return err }(), f.Sync(), f.Close()); err != nil {
		return nil, err
	}
	return key, nil
}
