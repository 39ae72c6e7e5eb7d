package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/surgeload/surge/internal/metrics"
)

// Reading an HTTP/1.1 response for the lean client (h1.go). The rules are
// RFC 9112's, as net/http applies them: 1xx responses before the final one
// are skipped (101 ends the connection), HEAD, 204 and 304 have no body,
// Transfer-Encoding: chunked wins over Content-Length, and a response with
// neither runs to the end of the connection.

// readResponse reads the final response to r into res.
func (s *Session) readResponse(c *h1Conn, r *Request, res *Response) error {
	c.got, c.closing = 0, !s.c.keepAlive || hasToken(r.Header["Connection"], "close")
	defer func() { res.BytesReceived = c.got }()
	for interim := 0; ; interim++ {
		end, err := c.readHead()
		if err != nil {
			return err
		}
		head := c.buf[c.r:end]
		c.r = end
		c.got += int64(len(head))
		minor, status, err := parseStatusLine(head)
		if err != nil {
			return err
		}
		if status >= 100 && status < 200 && status != nethttp.StatusSwitchingProtocols {
			if interim == h1MaxInterim {
				return errTooManyInterim
			}
			continue
		}
		f, err := s.parseHeader(head, r, res)
		if err != nil {
			return err
		}
		res.Status = status
		if minor == 0 {
			res.Proto = metrics.ProtoHTTP10
		}
		if minor == 0 && !f.keepAlive || f.close || status == nethttp.StatusSwitchingProtocols {
			c.closing = true
		}
		switch {
		case r.Method == "HEAD", status == nethttp.StatusNoContent, status == nethttp.StatusNotModified,
			status == nethttp.StatusSwitchingProtocols:
			return nil
		case f.chunked:
			return c.readChunked(res, r.KeepBody)
		case f.length >= 0:
			return c.readBody(f.length, res, r.KeepBody)
		default:
			c.closing = true
			return c.readBody(-1, res, r.KeepBody)
		}
	}
}

// readHead returns the end of the response head buffered at c.r, reading
// until the blank line that ends it.
func (c *h1Conn) readHead() (int, error) {
	from := 0 // where to look for the end, relative to c.r
	checked := false
	for {
		b := c.buf[c.r:c.w]
		if i := headEnd(b, from); i >= 0 {
			return c.r + i, nil
		}
		if !checked {
			// Fail on a garbled first line at once, as net/http does,
			// instead of waiting for a blank line that may never come.
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				if _, _, err := parseStatusLine(b[:i+1]); err != nil {
					c.got += int64(len(b))
					return 0, err
				}
				checked = true
			}
		}
		from = max(0, len(b)-3)
		if err := c.fill(h1MaxHead, errHeadTooLarge); err != nil {
			if errors.Is(err, io.EOF) && c.w > c.r {
				err = truncatedHead(c.buf[c.r:c.w])
			}
			c.got += int64(c.w - c.r)
			return 0, err
		}
	}
}

// truncatedHead is the error for a head cut short by the end of the
// connection. As with net/http, a garbled line in what did arrive (no
// colon, an empty name, a continuation before any header) makes it a
// malformed response; otherwise the connection ended unexpectedly.
func truncatedHead(b []byte) error {
	if _, _, err := parseStatusLine(b); err != nil {
		return err
	}
	_, rest, _ := bytes.Cut(b, []byte{'\n'})
	for first := true; len(rest) > 0; first = false {
		var line []byte
		var ended bool
		line, rest, ended = bytes.Cut(rest, []byte{'\n'})
		if ended { // (a CR cut from its LF is a garbled line to net/http)
			line = bytes.TrimSuffix(line, []byte{'\r'})
		}
		switch {
		case len(line) == 0:
		case line[0] == ' ' || line[0] == '\t':
			if first {
				return fmt.Errorf("malformed MIME header initial line: %q", line)
			}
		case bytes.IndexByte(line, ':') < 0:
			return fmt.Errorf("malformed MIME header: missing colon: %q", line)
		case line[0] == ':':
			return fmt.Errorf("malformed MIME header line: %q", line)
		}
	}
	return io.ErrUnexpectedEOF
}

// headEnd returns the index just past the blank line that ends the head in
// b, looking from index from, or -1.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		k := i + j + 1 // the next line
		switch {
		case k < len(b) && b[k] == '\n':
			return k + 1
		case k+1 < len(b) && b[k] == '\r' && b[k+1] == '\n':
			return k + 2
		}
		i = k
	}
	return -1
}

// parseStatusLine parses the head's first line, "HTTP/1.1 200 OK".
func parseStatusLine(head []byte) (minor, status int, err error) {
	line := head
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	proto, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return 0, 0, fmt.Errorf("malformed HTTP response %q", line)
	}
	code, _, _ := bytes.Cut(rest, []byte{' '})
	if len(code) != 3 || !isDigits(code) {
		return 0, 0, fmt.Errorf("malformed HTTP status code %q", code)
	}
	status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if status < 100 {
		return 0, 0, fmt.Errorf("malformed HTTP status code %q", code) // (net/http lets 0xx through)
	}
	if len(proto) != len("HTTP/1.1") || !bytes.HasPrefix(proto, []byte("HTTP/")) ||
		proto[6] != '.' || !isDigits(proto[5:6]) || !isDigits(proto[7:8]) {
		return 0, 0, fmt.Errorf("malformed HTTP version %q", proto)
	}
	if proto[5] != '1' {
		return 0, 0, fmt.Errorf("unsupported HTTP version %q", proto)
	}
	return int(proto[7] - '0'), status, nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// framing is what a response head says about the body and the connection.
type framing struct {
	length    int64 // Content-Length, or -1
	chunked   bool
	close     bool // Connection: close
	keepAlive bool // Connection: keep-alive (matters for HTTP/1.0)
}

// parseHeader fills res.Header from the head (status line first) and
// returns its framing. Keys and values share one string; the value slices
// share the session's backing array.
func (s *Session) parseHeader(head []byte, r *Request, res *Response) (framing, error) {
	f := framing{length: -1}
	h := res.Header
	if h == nil {
		h = make(nethttp.Header, 8)
		res.Header = h
	}
	vals, keys := s.h1.vals[:0], s.h1.keys[:0]
	text := string(head) // the one allocation per response
	i := strings.IndexByte(text, '\n') + 1
	var last string // key of the previous line, for obsolete line folding
	cookies := false
	for i < len(text) {
		j := strings.IndexByte(text[i:], '\n')
		if j < 0 {
			j = len(text) - i
		}
		line := text[i : i+j]
		i += j + 1
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// A continuation of the previous line (obsolete folding).
			if last == "" {
				return f, fmt.Errorf("malformed MIME header initial line: %q", line)
			}
			vs := h[last]
			vs[len(vs)-1] += " " + textproto.TrimString(line)
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			return f, fmt.Errorf("malformed MIME header: missing colon: %q", line)
		}
		k, ok := canonicalKey(line[:colon])
		if !ok {
			return f, fmt.Errorf("malformed MIME header line: %q", line)
		}
		v := trimSpace(line[colon+1:])
		last = k
		dup := false
		if len(keys) < 32 {
			for _, x := range keys {
				if x == k {
					dup = true
					break
				}
			}
		} else {
			_, dup = h[k]
		}
		if dup {
			h[k] = append(h[k], v)
		} else {
			keys = append(keys, k)
			vals = append(vals, v)
			h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
		switch k {
		case "Content-Length":
			n, ok := parseLength(v)
			if !ok {
				return f, fmt.Errorf("bad Content-Length %q", v)
			}
			if f.length >= 0 && f.length != n {
				return f, fmt.Errorf("http: message cannot contain multiple Content-Length headers; got %q", h[k])
			}
			f.length = n
		case "Transfer-Encoding":
			if !strings.EqualFold(v, "chunked") {
				return f, fmt.Errorf("unsupported transfer encoding: %q", v)
			}
			f.chunked = true
		case "Connection":
			if hasToken([]string{v}, "close") {
				f.close = true
			}
			if hasToken([]string{v}, "keep-alive") {
				f.keepAlive = true
			}
		case "Set-Cookie":
			cookies = true
		}
	}
	// Keep the backing arrays for the next response, unless a head of more
	// than h1KeepHeaders names grew them; and keep no string of an earlier
	// head past the end (it would hold that whole head in memory). The test
	// is on the names, not the capacity: append grows 32 to 71, past 64, so
	// a capacity test would drop (and regrow) the arrays of every head of
	// 33 to 64 names. vals and keys have one entry per name.
	clear(vals[len(vals):cap(vals)])
	clear(keys[len(keys):cap(keys)])
	if len(keys) > h1KeepHeaders {
		vals, keys = nil, nil
	}
	s.h1.vals, s.h1.keys = vals, keys
	if cookies {
		res.CookiesDropped = s.storeCookies(r.URL, h["Set-Cookie"])
	}
	return f, nil
}

// canonicalKey validates a header name and returns its canonical form,
// without allocating when it already is canonical (as servers send it).
func canonicalKey(k string) (string, bool) {
	if k == "" {
		return "", false
	}
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !tokenTable[c] {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(k), true
		}
		upper = c == '-'
	}
	return k, true
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseLength parses a Content-Length value: decimal digits only.
func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasToken reports whether a comma-separated header value holds tok.
func hasToken(vs []string, tok string) bool {
	for _, v := range vs {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(textproto.TrimString(t), tok) {
				return true
			}
		}
	}
	return false
}

// readBody reads a body of n bytes (n < 0: up to the end of the
// connection), keeping its first keep bytes in res.Body.
func (c *h1Conn) readBody(n int64, res *Response, keep int) error {
	for n != 0 {
		if c.r == c.w {
			if n < 0 || n > h1BufSize {
				// Read a large body through a bigger, shared buffer.
				m, err := c.readDirect(n, res, keep)
				n -= m
				if err != nil {
					if n < 0 && errors.Is(err, io.EOF) {
						return nil
					}
					return unexpected(err)
				}
				continue
			}
			if err := c.fill(len(c.buf), nil); err != nil {
				if n < 0 && errors.Is(err, io.EOF) {
					return nil
				}
				return unexpected(err)
			}
		}
		m := c.w - c.r
		if n >= 0 && int64(m) > n {
			m = int(n)
		}
		take(res, c.buf[c.r:c.r+m], keep)
		c.r += m
		c.got += int64(m)
		if n > 0 {
			n -= int64(m)
		}
	}
	return nil
}

// take counts body bytes b and keeps what res.Body still has room for.
func take(res *Response, b []byte, keep int) {
	if room := keep - len(res.Body); room > 0 {
		res.Body = append(res.Body, b[:min(room, len(b))]...)
	}
	res.BodySize += int64(len(b))
}

// unexpected reports the connection ending inside a body.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readChunked reads a chunked body and its trailer.
func (c *h1Conn) readChunked(res *Response, keep int) error {
	for {
		line, err := c.readLine()
		if err != nil {
			return unexpected(err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) == 0 || len(line) > 16 {
			return errors.New("malformed chunked encoding")
		}
		size, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil {
			return errors.New("invalid byte in chunk length")
		}
		if size == 0 {
			break
		}
		if err := c.readBody(int64(size), res, keep); err != nil {
			return err
		}
		line, err = c.readLine()
		if err != nil {
			return unexpected(err)
		}
		if len(line) != 0 {
			return errors.New("malformed chunked encoding")
		}
	}
	for { // the trailer, up to a blank line
		line, err := c.readLine()
		if err != nil {
			return unexpected(err)
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// readLine returns the next line without its line ending.
func (c *h1Conn) readLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(c.buf[c.r:c.w], '\n'); i >= 0 {
			line := c.buf[c.r : c.r+i]
			c.r += i + 1
			c.got += int64(i + 1)
			return bytes.TrimSuffix(line, []byte{'\r'}), nil
		}
		if err := c.fill(h1MaxLine, errLineTooLong); err != nil {
			return nil, err
		}
	}
}
