package http

import (
	"bufio"
	"errors"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The lean client's response reader, fed whole responses in pieces of
// every size: a response must read the same whether it arrives in one
// segment or one byte at a time, and the same as net/http reads it.

// pieceConn is a net.Conn that delivers data in reads of at most chunk
// bytes, then fails every read with end: io.EOF for a server that closed,
// os.ErrDeadlineExceeded for one that went quiet.
type pieceConn struct {
	net.Conn
	data  []byte
	chunk int
	end   error
}

func (c *pieceConn) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, c.end
	}
	n := copy(b[:min(len(b), c.chunk)], c.data)
	c.data = c.data[n:]
	return n, nil
}
func (c *pieceConn) Write(b []byte) (int, error)     { return len(b), nil }
func (c *pieceConn) SetDeadline(time.Time) error     { return nil }
func (c *pieceConn) Close() error                    { return nil }
func (c *pieceConn) LocalAddr() net.Addr             { return &net.TCPAddr{} }
func (c *pieceConn) RemoteAddr() net.Addr            { return &net.TCPAddr{} }
func (c *pieceConn) SetReadDeadline(time.Time) error { return nil }

// chunkSizes are the read sizes every response is fed in: a byte at a
// time, sizes that put line ends and the blank line at every offset of a
// read, and all at once.
var chunkSizes = []int{1, 2, 3, 4, 5, 7, 13, 64, 1 << 20}

// readPieces reads one response to a GET (or method) from data delivered
// in pieces of chunk bytes, then end. The read runs with a deadline: a
// reader that loops without progress fails the test instead of hanging it.
func readPieces(t *testing.T, method, data string, chunk int, end error) (*Response, *h1Conn, error) {
	t.Helper()
	u, _ := url.Parse("http://127.0.0.1/")
	s := NewClient(Options{}).NewSession()
	c := newH1Conn(&pieceConn{data: []byte(data), chunk: chunk, end: end}, u.Host)
	res := &Response{}
	done := make(chan error, 1)
	go func() { done <- s.readResponse(c, &Request{Method: method, URL: u, KeepBody: 1 << 20}, res) }()
	select {
	case err := <-done:
		return res, c, err
	case <-time.After(10 * time.Second):
		t.Fatalf("chunk %d: reading the response did not end", chunk)
		return nil, nil, nil
	}
}

// TestReadResponseInPieces: well-formed responses, each one read in
// pieces of every size, give net/http's status, header map and body, count
// every byte of the response as received, and leave nothing unread.
func TestReadResponseInPieces(t *testing.T) {
	many := strings.Repeat("1\r\nx\r\n", 2000) // 12 kB of one-byte chunks: lines cross every buffer boundary
	tests := []struct {
		name string
		resp string
	}{
		{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"},
		{"no reason phrase, bare LF", "HTTP/1.1 200\nContent-Length: 2\n\nok"},
		{"status 226", "HTTP/1.1 226 IM Used\r\nContent-Length: 0\r\n\r\n"},
		{"status 299", "HTTP/1.1 299 X\r\nContent-Length: 0\r\n\r\n"},
		{"status 418", "HTTP/1.1 418 Teapot\r\nContent-Length: 1\r\n\r\nt"},
		{"status 429", "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n"},
		{"status 511", "HTTP/1.1 511 X\r\nContent-Length: 0\r\n\r\n"},
		{"status 599", "HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n"},
		{"status 190 interim then 200", "HTTP/1.1 190 X\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"},
		{"header names canonicalised", "HTTP/1.1 200 OK\r\nage: 1\r\nzz: 2\r\nXA: 3\r\nXZ: 4\r\nX-a: 5\r\nx-z-Q: 6\r\nAZaz-09: 7\r\nContent-Length: 0\r\n\r\n"},
		{"empty and padded values", "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Spaces:   \r\nX-Tabs:\t\t\r\nX-Pad: \t v w \t \r\nContent-Length: 0\r\n\r\n"},
		{"folded header", "HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\n\tc\r\nContent-Length: 0\r\n\r\n"},
		{"repeated header", "HTTP/1.1 200 OK\r\nX-M: 1\r\nx-m: 2\r\nX-M: 3\r\nContent-Length: 0\r\n\r\n"},
		{"equal content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"},
		{"18-digit content-length", "HTTP/1.1 200 OK\r\nContent-Length: 000000000000000005\r\n\r\nhello"},
		{"16-digit chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000005\r\nhello\r\n0\r\n\r\n"},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"},
		{"many small chunks", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + many + "0\r\n\r\n"},
		{"body larger than the buffer", "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("b", 10000)},
		{"many headers", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Same: v\r\n", 40) + "A1: 1\r\nA2: 2\r\nA3: 3\r\nA4: 4\r\nA5: 5\r\nA6: 6\r\nA7: 7\r\nA8: 8\r\nA9: 9\r\nB1: 1\r\nB2: 2\r\nB3: 3\r\nB4: 4\r\nB5: 5\r\nB6: 6\r\nB7: 7\r\nB8: 8\r\nB9: 9\r\nC1: 1\r\nC2: 2\r\nC3: 3\r\nC4: 4\r\nC5: 5\r\nC6: 6\r\nC7: 7\r\nC8: 8\r\nC9: 9\r\nD1: 1\r\nD2: 2\r\nD3: 3\r\nD4: 4\r\nD5: 5\r\nD6: 6\r\nD7: 7\r\nD8: 8\r\nA1: again\r\nContent-Length: 0\r\n\r\n"},
		{"five interim responses", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 5) + "HTTP/1.1 204 No Content\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.resp))
			want, err := nethttp.ReadResponse(br, nil)
			for err == nil && want.StatusCode < 200 { // net/http's client skips 1xx responses so
				want, err = nethttp.ReadResponse(br, nil)
			}
			if err != nil {
				t.Fatalf("net/http cannot read the response: %v", err)
			}
			wantBody, err := io.ReadAll(want.Body)
			if err != nil {
				t.Fatalf("net/http cannot read the body: %v", err)
			}
			for _, chunk := range chunkSizes {
				res, c, err := readPieces(t, "GET", tt.resp, chunk, io.EOF)
				if err != nil {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				if res.Status != want.StatusCode {
					t.Errorf("chunk %d: status %d, net/http reads %d", chunk, res.Status, want.StatusCode)
				}
				if got, w := framingless(res.Header), framingless(want.Header); !reflect.DeepEqual(got, w) {
					t.Errorf("chunk %d: header\n%q\nnet/http reads\n%q", chunk, got, w)
				}
				if string(res.Body) != string(wantBody) || res.BodySize != int64(len(wantBody)) {
					t.Errorf("chunk %d: body of %d bytes (%d kept), net/http reads %d", chunk, res.BodySize, len(res.Body), len(wantBody))
				}
				if res.BytesReceived != int64(len(tt.resp)) {
					t.Errorf("chunk %d: %d bytes received, the response has %d", chunk, res.BytesReceived, len(tt.resp))
				}
				if c.r != c.w {
					t.Errorf("chunk %d: %d bytes left unread after the response", chunk, c.w-c.r)
				}
				if c.closing {
					t.Errorf("chunk %d: an HTTP/1.1 response with a length ends the connection", chunk)
				}
			}
		})
	}
}

// framingless is h without the framing headers, which net/http rewrites
// (it drops Transfer-Encoding and keeps one of equal Content-Lengths) and
// the lean client leaves as they came.
func framingless(h nethttp.Header) nethttp.Header {
	out := h.Clone()
	delete(out, "Transfer-Encoding")
	delete(out, "Content-Length")
	return out
}

// TestReadResponseLenient: framing the lean client accepts though
// net/http does not, read the same at every piece size.
func TestReadResponseLenient(t *testing.T) {
	tests := []struct {
		name, resp, body string
	}{
		{"chunked with bare LF", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n3\n th\n0\n\n", "hi th"},
		{"chunked, bare LF ends the trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-T: 1\n\n", "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range chunkSizes {
				res, c, err := readPieces(t, "GET", tt.resp, chunk, os.ErrDeadlineExceeded)
				if err != nil || res.Status != 200 || string(res.Body) != tt.body {
					t.Fatalf("chunk %d: status %d body %q err %v; want 200 %q", chunk, res.Status, res.Body, err, tt.body)
				}
				if res.BytesReceived != int64(len(tt.resp)) || c.r != c.w {
					t.Errorf("chunk %d: %d bytes received, %d unread; the response has %d", chunk, res.BytesReceived, c.w-c.r, len(tt.resp))
				}
			}
		})
	}
}

// TestReadResponseErrors: malformed responses fail with the error that
// names what is wrong (Message groups by it), at every piece size; the
// bytes that arrived are counted. A server that sends a garbled first line
// and then nothing is reported at once, not after the timeout.
func TestReadResponseErrors(t *testing.T) {
	tests := []struct {
		name string
		resp string
		end  error  // after the data
		want string // the error's text, or a prefix of it ending in "…"
		all  bool   // every byte arrived before the error: all are counted
	}{
		{"leading blank line", "\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", io.EOF, `malformed HTTP response ""`, false},
		{"leading blank line, then quiet", "\nSSH-2.0-x\r\n", os.ErrDeadlineExceeded, `malformed HTTP response ""`, false},
		{"garbage first line, then quiet", "SSH-2.0-OpenSSH_9.2\r\n", os.ErrDeadlineExceeded, `malformed HTTP response "SSH-2.0-OpenSSH_9.2"`, false},
		{"status below 100", "HTTP/1.1 099 X\r\n\r\n", io.EOF, `malformed HTTP status code "099"`, false},
		{"status 2x0", "HTTP/1.1 2x0 X\r\n\r\n", io.EOF, `malformed HTTP status code "2x0"`, false},
		{"status with a colon", "HTTP/1.1 20: X\r\n\r\n", io.EOF, `malformed HTTP status code "20:"`, false},
		{"status with a slash", "HTTP/1.1 2/0 X\r\n\r\n", io.EOF, `malformed HTTP status code "2/0"`, false},
		{"HTTP/2 status line", "HTTP/2.0 200 OK\r\n\r\n", io.EOF, `unsupported HTTP version "HTTP/2.0"`, false},
		{"empty header name", "HTTP/1.1 200 OK\r\n:x\r\nContent-Length: 0\r\n\r\n", io.EOF, `malformed MIME header line: ":x"`, false},
		{"missing colon", "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n", io.EOF, `malformed MIME header: missing colon: "NoColon"`, false},
		{"continuation first", "HTTP/1.1 200 OK\r\n X: 1\r\nContent-Length: 0\r\n\r\n", io.EOF, `malformed MIME header initial line: " X: 1"`, false},
		{"length 0 then 5", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello", io.EOF, "http: message cannot contain multiple Content-Length headers…", false},
		{"length 5 then 0", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 0\r\n\r\nhello", io.EOF, "http: message cannot contain multiple Content-Length headers…", false},
		{"19-digit content-length", "HTTP/1.1 200 OK\r\nContent-Length: 0000000000000000005\r\n\r\nhello", io.EOF, `bad Content-Length "0000000000000000005"`, false},
		{"17-digit chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n", io.EOF, "malformed chunked encoding", false},
		{"chunk extension only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x=y\r\nhello\r\n0\r\n\r\n", io.EOF, "malformed chunked encoding", false},
		{"chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", io.EOF, "invalid byte in chunk length", false},
		{"chunk data too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhix\r\n0\r\n\r\n", io.EOF, "malformed chunked encoding", false},
		{"six interim responses", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", io.EOF, "too many 1xx informational responses", false},
		{"head cut after a line end", "HTTP/1.1 200 OK\r\nA: b\r\n", io.EOF, "unexpected EOF", true},
		{"head cut inside CRLF", "HTTP/1.1 200 OK\r\nA: b\r\n\r", io.EOF, `malformed MIME header: missing colon: "\r"`, true},
		{"head cut after an empty name", "HTTP/1.1 200 OK\r\nA: b\r\n:x\r\n", io.EOF, `malformed MIME header line: ":x"`, true},
		{"head cut after a continuation first", "HTTP/1.1 200 OK\r\n X: 1\r\n", io.EOF, `malformed MIME header initial line: " X: 1"`, true},
		{"head cut after a continuation", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n", io.EOF, "unexpected EOF", true},
		{"head cut inside a name", "HTTP/1.1 200 OK\r\nContent-Le", io.EOF, `malformed MIME header: missing colon: "Content-Le"`, true},
		{"interim, then a head cut short", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Le", io.EOF, `malformed MIME header: missing colon: "Content-Le"`, true},
		{"interim, then nothing", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", io.EOF, "unexpected EOF", true},
		{"body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", io.EOF, "unexpected EOF", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range chunkSizes {
				res, _, err := readPieces(t, "GET", tt.resp, chunk, tt.end)
				if err == nil {
					t.Fatalf("chunk %d: no error (status %d)", chunk, res.Status)
				}
				if prefix, ok := strings.CutSuffix(tt.want, "…"); ok && !strings.HasPrefix(err.Error(), prefix) || !ok && err.Error() != tt.want {
					t.Errorf("chunk %d: error %q, want %q", chunk, err, tt.want)
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("chunk %d: waited for more after a garbled response", chunk)
				}
				if tt.all && res.BytesReceived != int64(len(tt.resp)) {
					t.Errorf("chunk %d: %d bytes received, %d arrived", chunk, res.BytesReceived, len(tt.resp))
				}
			}
		})
	}
}
