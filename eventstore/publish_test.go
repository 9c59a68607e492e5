package eventstore

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestReadPubAck reads JetStream's answers as the server writes them (nats-server's pubAck
// template), and shapes the fast reader leaves to JSON.
func TestReadPubAck(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want pubAck
		fast bool   // read without encoding/json
		code uint16 // an APIError's code, when the answer is a refusal
	}{
		{"stored", `{"stream":"DIALOG","seq":42}`, pubAck{seq: 42}, true, 0},
		{"with a domain", `{"stream":"DIALOG","domain":"hub","seq":7}`, pubAck{seq: 7}, true, 0},
		{"duplicate", `{"stream":"DIALOG","seq":9,"duplicate": true}`, pubAck{seq: 9, duplicate: true}, true, 0},
		{"spaces and newline", " {\"stream\" : \"DIALOG\" , \"seq\" : 3 }\n", pubAck{seq: 3}, true, 0},
		{"escaped stream name", `{"stream":"DI\u0041LOG","seq":5}`, pubAck{seq: 5}, false, 0},
		{"wrong last sequence", `{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 12"},"stream":"DIALOG","seq":0}`, pubAck{}, false, 10071},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fast := scanPubAck([]byte(tc.in))
			if fast != tc.fast {
				t.Errorf("read without JSON: got %v, want %v", fast, tc.fast)
			}
			got, err := readPubAck([]byte(tc.in))
			if tc.code != 0 {
				var apiErr *jetstream.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.ErrorCode(tc.code) {
					t.Fatalf("got %v, want API error %d", err, tc.code)
				}
				if !isWrongLastSequence(err) || lastSeqOf(err) != 12 {
					t.Fatalf("got %v (last %d), want a wrong last sequence at 12", err, lastSeqOf(err))
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{``, `{}`, `{"seq":1}`, `{"stream":"DIALOG"}`, `{"stream":"DIALOG","seq":1`, `not json`, `{"stream":"DIALOG","seq":-1}`} {
		if ack, err := readPubAck([]byte(bad)); err == nil {
			t.Errorf("%q: got %+v, want an error", bad, ack)
		}
	}
}

// BenchmarkReadPubAck reads JetStream's answer to a publish, as every append does.
//
//	go test ./eventstore -run '^$' -bench ReadPubAck -benchmem
func BenchmarkReadPubAck(b *testing.B) {
	ack := []byte(`{"stream":"DIALOG","seq":1234567,"duplicate": true}`)
	for b.Loop() {
		if _, err := readPubAck(ack); err != nil {
			b.Fatal(err)
		}
	}
}
