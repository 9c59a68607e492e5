package notify

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
)

// sendLoop raises due reminders and drains the outbox, whenever a commit wakes it and every
// Poll for retries and reminders.
func (r *Reactor) sendLoop(ctx context.Context) {
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	for {
		if err := r.raiseDue(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("notices: raising due reminders failed", "err", err)
		}
		for {
			n, err := r.sendDue(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("notices: reading the outbox failed", "err", err)
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-tick.C:
		}
	}
}

const outboxColumns = `id, seq, recipient, kind, meeting, at, place, cal_seq, due, created, state, sent_at`

func scanNotice(s interface{ Scan(...any) error }) (Notice, error) {
	var n Notice
	var recipient, meeting, kind, place string
	var at, created, sentAt int64
	if err := s.Scan(&n.ID, &n.Seq, &recipient, &kind, &meeting, &at, &place, &n.CalSeq, &n.Due, &created, &n.State, &sentAt); err != nil {
		return Notice{}, err
	}
	n.Recipient, _ = uuid.Parse(recipient)
	n.Meeting, _ = uuid.Parse(meeting)
	n.Kind, n.Place = Kind(kind), domain.PlaceKind(place)
	if at != 0 {
		n.At = time.UnixMilli(at).UTC()
	}
	n.Created = time.UnixMilli(created).UTC()
	if sentAt != 0 {
		n.SentAt = time.UnixMilli(sentAt).UTC()
	}
	return n, nil
}

// sendDue sends the notices that are due, one at a time, and says how many it tried.
func (r *Reactor) sendDue(ctx context.Context) (int, error) {
	rows, err := r.write.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE state = 'pending' AND next_attempt <= ? ORDER BY id LIMIT 100`,
		r.now().UnixMilli())
	if err != nil {
		return 0, err
	}
	var due []Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		due = append(due, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, n := range due {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if err := r.deliver(ctx, n); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// deliver sends one notice and records the outcome. The row says "pending" until the channel
// has taken the message: a crash in between sends it again, with the same Message-ID.
func (r *Reactor) deliver(ctx context.Context, n Notice) error {
	email, ok := r.addrs.NoticeAddress(n.Recipient)
	if !ok {
		r.metrics.outcomes.WithLabelValues(string(n.Kind), "inbox").Inc()
		_, err := r.write.ExecContext(ctx, `UPDATE outbox SET state = 'inbox' WHERE id = ?`, n.ID)
		return err
	}
	sendErr := r.ch.Send(ctx, n, Address{Email: email}, r.cfg.PublicURL)
	now := r.now()
	if sendErr == nil {
		r.metrics.outcomes.WithLabelValues(string(n.Kind), "sent").Inc()
		r.metrics.lag.Observe(now.Sub(n.Created).Seconds())
		tx, err := r.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`,
			now.UnixMilli(), n.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM failing WHERE person = ?`, n.Recipient.String()); err != nil {
			return err
		}
		return tx.Commit()
	}
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the notice stays pending
	}
	var attempts int
	if err := r.write.QueryRowContext(ctx, `SELECT attempts FROM outbox WHERE id = ?`, n.ID).Scan(&attempts); err != nil {
		return err
	}
	attempts++
	state, next := "pending", now.Add(r.backoff(attempts))
	if attempts >= r.cfg.Attempts || errors.Is(sendErr, ErrPermanent) {
		state = "failed"
		r.metrics.outcomes.WithLabelValues(string(n.Kind), "failed").Inc()
	} else {
		r.metrics.outcomes.WithLabelValues(string(n.Kind), "retry").Inc()
	}
	r.log.Warn("notices: sending failed", "notice", n.ID, "kind", n.Kind, "attempt", attempts, "state", state, "err", sendErr)
	tx, err := r.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?`,
		state, attempts, next.UnixMilli(), sendErr.Error(), n.ID); err != nil {
		return err
	}
	// An address that keeps failing is marked, for the citizen to see on the meeting page.
	if _, err := tx.ExecContext(ctx, `INSERT INTO failing (person, failures) VALUES (?, 1)
		ON CONFLICT DO UPDATE SET failures = failures + 1`, n.Recipient.String()); err != nil {
		return err
	}
	// A refused address (a permanent failure) is marked at once.
	after := r.cfg.FailingAfter
	if errors.Is(sendErr, ErrPermanent) {
		after = 1
	}
	if _, err := tx.ExecContext(ctx, `UPDATE failing SET marked_at = ? WHERE person = ? AND marked_at = 0 AND failures >= ?`,
		now.UnixMilli(), n.Recipient.String(), after); err != nil {
		return err
	}
	return tx.Commit()
}

// backoff is the pause after the attempt-th failure: doubling from FirstRetry up to MaxRetry.
func (r *Reactor) backoff(attempt int) time.Duration {
	d := r.cfg.FirstRetry
	for i := 1; i < attempt && d < r.cfg.MaxRetry; i++ {
		d *= 2
	}
	return min(d, r.cfg.MaxRetry)
}

// Inbox returns a person's notices, newest first: every notice stays there, sent or not.
func (r *Reactor) Inbox(ctx context.Context, person uuid.UUID, limit int) ([]Notice, error) {
	rows, err := r.read.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT ?`, person.String(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Failing says which of people have an address marked as failing.
func (r *Reactor) Failing(ctx context.Context, people []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	for _, p := range people {
		var marked int64
		err := r.read.QueryRowContext(ctx, `SELECT marked_at FROM failing WHERE person = ?`, p.String()).Scan(&marked)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if marked != 0 {
			out[p] = true
		}
	}
	return out, nil
}

// Sequence is the calendar SEQUENCE the notices give a meeting for a person now, for the .ics
// download: ok is false when the reaction knows no time for it.
func (r *Reactor) Sequence(ctx context.Context, meeting, person uuid.UUID) (seq int, cancel, ok bool, err error) {
	var m meetingRow
	var status string
	err = r.read.QueryRowContext(ctx, `SELECT at, place, schedules, status FROM meetings WHERE meeting = ?`, meeting.String()).Scan(&m.at, &m.place, &m.schedules, &status)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && m.at == 0) {
		return 0, false, false, nil
	}
	if err != nil {
		return 0, false, false, err
	}
	var w, withdrawn int
	err = r.read.QueryRowContext(ctx, `SELECT withdrawals, withdrawn FROM invitees WHERE meeting = ? AND person = ?`, meeting.String(), person.String()).Scan(&w, &withdrawn)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, false, err
	}
	cancel = status == string(domain.StatusCancelled) || withdrawn == 1
	if withdrawn == 1 {
		w-- // the withdrawal's CANCEL was counted before the count rose
	}
	return m.sequence(w, cancel), cancel, true, nil
}
