package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RevocationBucket is the JetStream key-value bucket of tokens signed out before they expire.
const RevocationBucket = "AABENDIALOG_REVOKED"

// Revocations is the list of tokens that were signed out before they expired, shared by every
// server process: an entry is written to a key-value bucket, lives there until the token would
// have expired, and every process watches the bucket and keeps the list in memory, so checking
// a token costs a map lookup. A process learns of a sign-out made at another within the time a
// NATS message takes (milliseconds); the process that signs out knows at once.
//
// A token is named by the SHA-256 of its text, so the bucket holds no token that could be used.
type Revocations struct {
	kv  jetstream.KeyValue
	now func() time.Time
	log *slog.Logger

	mu   sync.RWMutex
	list map[string]time.Time // token hash → when the token expires
}

// OpenRevocations creates or opens the bucket and reads it whole before it returns; a watch
// then keeps the list current until ctx ends.
func OpenRevocations(ctx context.Context, js jetstream.JetStream, replicas int, now func() time.Time, log *slog.Logger) (*Revocations, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      RevocationBucket,
		Description: "Åben Dialog: tokens signed out before they expire (SHA-256 of the token → its expiry)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		// Each entry carries its own time to live (the token's remaining life); this is how long
		// the marker of an expired entry stays, so a watch sees it go.
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("open the revocation list: %w", err)
	}
	r := &Revocations{kv: kv, now: now, log: log, list: map[string]time.Time{}}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch the revocation list: %w", err)
	}
	// The watch first delivers every entry there is, then nil.
	for e := range w.Updates() {
		if e == nil {
			break
		}
		r.apply(e)
	}
	go func() {
		defer w.Stop()
		for e := range w.Updates() {
			if e != nil {
				r.apply(e)
			}
		}
	}()
	return r, nil
}

func (r *Revocations) apply(e jetstream.KeyValueEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(r.list, e.Key())
		return
	}
	exp, err := time.Parse(time.RFC3339, string(e.Value()))
	if err != nil {
		// Written by something else: keep the token refused rather than guess.
		r.log.Warn("revocation entry with an unreadable expiry; the token stays refused", "key", e.Key(), "err", err)
		exp = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	r.list[e.Key()] = exp
}

// Revoke refuses token from now on, everywhere, until expires (the token's own expiry). Revoking
// a token twice is harmless.
func (r *Revocations) Revoke(ctx context.Context, token string, expires time.Time) error {
	key := tokenKey(token)
	ttl := expires.Sub(r.now()) + leeway
	if ttl < time.Second {
		return nil // already past use
	}
	_, err := r.kv.Create(ctx, key, []byte(expires.UTC().Format(time.RFC3339)), jetstream.KeyTTL(ttl.Round(time.Second)))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("revoke token: %w", err)
	}
	r.mu.Lock()
	r.list[key] = expires
	// Forget what has expired, as the bucket does.
	now := r.now()
	for k, exp := range r.list {
		if now.After(exp.Add(leeway)) {
			delete(r.list, k)
		}
	}
	r.mu.Unlock()
	return nil
}

// Revoked reports whether token was signed out.
func (r *Revocations) Revoked(token string) bool { return r.revoked(tokenKey(token)) }

func (r *Revocations) revoked(key string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	_, ok := r.list[key]
	r.mu.RUnlock()
	return ok
}

func tokenKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
