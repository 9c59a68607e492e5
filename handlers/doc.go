// Package handlers is the folder of the service's jobs between the transports and the log, one
// package each:
//
//   - command: load a meeting, let the domain decide, append the commit, reply; and the one
//     table from error to status every transport answers with;
//   - query: the read-model queries with their access rules;
//   - auth: tokens, revocation, key and secret files;
//   - httpapi: the JSON API under /api/v1, its OpenAPI document and its Go client;
//   - natsrpc: commands and queries as NATS request/reply, through a watermill router;
//   - web: the Danish pages;
//   - evaluation: replay of histories and the indicator report;
//   - metrics: the Prometheus metrics.
//
// No transport imports another; cmd/aabendialog wires them together. The tests in this
// folder run the transports together on one real embedded node, as serve does.
package handlers
