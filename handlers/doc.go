// Package handlers turns requests into commands and answers: it loads a meeting, lets the domain
// decide, appends the commit, and carries commands and queries over NATS request/reply, HTTP and
// the web pages, all through the same path.
package handlers
