// Package projections builds the SQLite read models (each citizen's meeting history, the
// services that took part, a caseworker's inbox, follow-ups, evaluation) from the log, with each
// batch and its checkpoint in one transaction, and answers queries from them. Every SQLite file
// can be deleted and rebuilt from the log.
package projections
