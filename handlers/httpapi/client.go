package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/command"
	"github.com/google/uuid"
)

// Client sends commands to a running server over its HTTP API. The CLI uses it.
type Client struct {
	Server string // base URL, such as http://127.0.0.1:8080
	Token  string
	HTTP   *http.Client
}

// APIError is a refusal from the server: its status and what was wrong.
type APIError struct {
	Status int
	command.ErrorDetail
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Command sends one command with the given id and returns the server's reply.
func (c *Client) Command(ctx context.Context, commandID uuid.UUID, cmd domain.Command) (command.Reply, error) {
	return c.Send(ctx, cmd.CommandName(), commandID, cmd)
}

// Send sends the command name with any JSON body, as a client in another language would: the
// server decodes and checks it.
func (c *Client) Send(ctx context.Context, name string, commandID uuid.UUID, body any) (command.Reply, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return command.Reply{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderIdempotencyKey, commandID.String())
	var r command.Reply
	err = c.do(ctx, http.MethodPost, "/api/v1/commands/"+name, nil, b, h, &r)
	return r, err
}

// Get asks the server for path (with query parameters) and decodes the JSON answer into out.
func (c *Client) Get(ctx context.Context, path string, params url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, params, nil, nil, out)
}

// Post sends an empty POST to path and decodes the JSON answer into out.
func (c *Client) Post(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodPost, path, nil, nil, nil, out)
}

// do sends one request and decodes a 2xx answer into out (nil: no answer wanted), or returns the server's refusal as
// an *APIError.
func (c *Client) do(ctx context.Context, method, path string, params url.Values, body []byte, header http.Header, out any) error {
	u := strings.TrimRight(c.Server, "/") + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("read the answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var eb command.ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Message == "" {
			return &APIError{Status: resp.StatusCode, ErrorDetail: command.ErrorDetail{Kind: "internal", Message: "the server answered " + resp.Status}}
		}
		return &APIError{Status: resp.StatusCode, ErrorDetail: eb.Error}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("read the answer to %s %s: %w", method, path, err)
	}
	return nil
}
