package auth

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
// A token is named by the SHA-256 of its issuer and id (jti), so every spelling of it is refused
// and the bucket holds nothing that could be used as a token.
type Revocations struct {
	// Durable, when set, is waited for after every write, before it is acknowledged
	// (eventstore.Node.Durable: the node group commits by fsync).
	Durable func(context.Context) error

	kv  jetstream.KeyValue
	now func() time.Time
	log *slog.Logger

	mu   sync.RWMutex
	list map[string]struct{} // names (hashes) of the revoked tokens
}

// OpenRevocations creates or opens the bucket and reads it whole before it returns; a watch
// then keeps the list current until ctx ends.
func OpenRevocations(ctx context.Context, js jetstream.JetStream, replicas int, now func() time.Time, log *slog.Logger) (*Revocations, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      RevocationBucket,
		Description: "Åben Dialog: tokens signed out before they expire (SHA-256 of the token's issuer and id → its expiry, for operators)",
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
	r := &Revocations{kv: kv, now: now, log: log, list: map[string]struct{}{}}
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
		if ctx.Err() == nil {
			r.log.Error("the watch of the revocation list ended: sign-outs made at other processes are no longer seen here")
		}
	}()
	return r, nil
}

func (r *Revocations) apply(e jetstream.KeyValueEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Operation() == jetstream.KeyValuePut {
		r.list[e.Key()] = struct{}{}
	} else { // deleted, or gone with its time to live
		delete(r.list, e.Key())
	}
}

// revoke refuses the token named key from now on, everywhere, until expires (the token's own
// expiry). Revoking a token twice is harmless.
func (r *Revocations) revoke(ctx context.Context, key string, expires time.Time) error {
	ttl := expires.Sub(r.now()) + leeway
	if ttl < time.Second {
		return nil // already past use
	}
	_, err := r.kv.Create(ctx, key, []byte(expires.UTC().Format(time.RFC3339)), jetstream.KeyTTL(ttl.Round(time.Second)))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("revoke token: %w", err)
	}
	if r.Durable != nil {
		if err := r.Durable(ctx); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
	}
	// Known here at once; other processes learn it through the watch, and everyone forgets it
	// when the entry's time to live ends.
	r.mu.Lock()
	r.list[key] = struct{}{}
	r.mu.Unlock()
	return nil
}

// RevokedID reports whether the token with this issuer and id (jti) was signed out.
func (r *Revocations) RevokedID(issuer, id string) bool { return r.revoked(idKey(issuer, id)) }

func (r *Revocations) revoked(key string) bool {
	if r == nil {
		return false
	}
	r.mu.RLock()
	_, ok := r.list[key]
	r.mu.RUnlock()
	return ok
}

// idKey names a token in the list by its issuer and id: the same token under another spelling
// has the same name.
func idKey(issuer, id string) string {
	h := sha256.Sum256([]byte("jti\x00" + issuer + "\x00" + id))
	return hex.EncodeToString(h[:])
}

// textKey is how lists written before tokens were named by id name a token: the SHA-256 of its
// text. Those entries are still honoured until they expire with their tokens.
func textKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
