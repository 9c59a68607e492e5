package web

import (
	"context"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/projections"
)

// maxPages bounds how many pages of a list one page of ours reads: a person's own meetings and
// tasks, which are far fewer than this many pages of the largest size.
const maxPages = 20

// history reads a citizen's meetings page by page, as far as maxPages.
func (p *Pages) history(ctx context.Context, a domain.Actor, citizen uuid.UUID, after uint64) ([]projections.MeetingView, error) {
	var all []projections.MeetingView
	pg := projections.Page{Limit: projections.HistoryLimits.Max}
	for range maxPages {
		h, err := p.Queries.History(ctx, a, citizen, pg, after)
		if err != nil {
			return nil, err
		}
		all = append(all, h.Items...)
		if pg.Cursor = h.NextCursor; pg.Cursor == "" {
			break
		}
	}
	return all, nil
}

// followUps reads the follow-ups f names page by page, as far as maxPages.
func (p *Pages) followUps(ctx context.Context, a domain.Actor, f projections.FollowUpFilter) ([]projections.FollowUpView, error) {
	var all []projections.FollowUpView
	pg := projections.Page{Limit: projections.FollowUpLimits.Max}
	for range maxPages {
		fs, err := p.Queries.FollowUps(ctx, a, f, pg, 0)
		if err != nil {
			return nil, err
		}
		all = append(all, fs.Items...)
		if pg.Cursor = fs.NextCursor; pg.Cursor == "" {
			break
		}
	}
	return all, nil
}

// readInbox reads a participant's inbox page by page, as far as maxPages.
func (p *Pages) readInbox(ctx context.Context, a domain.Actor, after uint64) (projections.Inbox, error) {
	var all projections.Inbox
	pg := projections.Page{Limit: projections.InboxLimits.Max}
	for range maxPages {
		in, err := p.Queries.Inbox(ctx, a, pg, after)
		if err != nil {
			return projections.Inbox{}, err
		}
		if all.Invitations == nil {
			all = in
		} else {
			all.Invitations = append(all.Invitations, in.Invitations...)
			all.Coming = append(all.Coming, in.Coming...)
			all.FollowUps = append(all.FollowUps, in.FollowUps...)
		}
		if pg.Cursor = in.NextCursor; pg.Cursor == "" {
			break
		}
	}
	all.NextCursor = ""
	return all, nil
}
