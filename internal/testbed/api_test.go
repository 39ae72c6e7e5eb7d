package testbed_test

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/surgeload/surge/internal/testbed"
	"github.com/surgeload/surge/internal/testutil"
)

func call(t *testing.T, c *http.Client, method, u, ctype, body string, hdr map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func TestLoginAndProtectedEndpoints(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	c := &http.Client{}
	if st, _, h := call(t, c, "GET", tb.URL()+"/todos", "", "", nil); st != 401 || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("/todos without a token: %d, want 401 with WWW-Authenticate", st)
	}
	if st, _, _ := call(t, c, "POST", tb.URL()+"/login", "application/json", `{"user":"alice","password":"wrong"}`, nil); st != 401 {
		t.Fatalf("bad password: %d, want 401", st)
	}
	st, body, h := call(t, c, "POST", tb.URL()+"/login", "application/json", `{"user":"alice","password":"secret"}`, nil)
	token, _ := body["access_token"].(string)
	if st != 200 || token == "" || h.Get("X-Request-Id") == "" || !strings.Contains(h.Get("Set-Cookie"), "session=") {
		t.Fatalf("login: %d %v %v", st, body, h)
	}
	st, body, _ = call(t, c, "GET", tb.URL()+"/todos", "", "", map[string]string{"Authorization": "Bearer " + token})
	if items, _ := body["items"].([]any); st != 200 || len(items) != 3 || body["user"] != "alice" {
		t.Fatalf("/todos with a token: %d %v", st, body)
	}
	if st, _, _ := call(t, c, "GET", tb.URL()+"/me", "", "", map[string]string{"Authorization": "Bearer nope"}); st != 401 {
		t.Fatalf("/me with a bad token: %d, want 401", st)
	}
	// A form login and the session cookie work too.
	jar, _ := cookiejar.New(nil)
	cj := &http.Client{Jar: jar}
	form := url.Values{"user": {"bob"}, "password": {"secret"}}.Encode()
	if st, _, _ := call(t, cj, "POST", tb.URL()+"/login", "application/x-www-form-urlencoded", form, nil); st != 200 {
		t.Fatalf("form login: %d", st)
	}
	if st, body, _ := call(t, cj, "GET", tb.URL()+"/me", "", "", nil); st != 200 || body["user"] != "bob" {
		t.Fatalf("/me with the session cookie: %d %v", st, body)
	}
	if got := tb.Logins(); got["alice"] != 1 || got["bob"] != 1 || len(got) != 2 {
		t.Errorf("Logins() = %v", got)
	}
}

func TestSalesRunOutOfStock(t *testing.T) {
	tb := testutil.StartTarget(t, testbed.Options{})
	c := &http.Client{}
	tb.SetStock("donut", 2)
	for i := range 2 {
		if st, body, _ := call(t, c, "POST", tb.URL()+"/sales", "application/json", `{"item":"donut","qty":1}`, nil); st != 201 || body["remaining"] != float64(1-i) {
			t.Fatalf("sale %d: %d %v", i+1, st, body)
		}
	}
	if st, body, _ := call(t, c, "POST", tb.URL()+"/sales", "application/json", `{"item":"donut","qty":1}`, nil); st != 409 || body["error"] != "sold out" {
		t.Fatalf("sold out: %d %v", st, body)
	}
	if st, _, _ := call(t, c, "POST", tb.URL()+"/sales", "application/json", `{"item":"caviar"}`, nil); st != 404 {
		t.Fatalf("unknown item: %d", st)
	}
	if tb.Sales() != 2 || tb.Stock("donut") != 0 {
		t.Errorf("sales %d, stock %d", tb.Sales(), tb.Stock("donut"))
	}
	if st, body, _ := call(t, c, "POST", tb.URL()+"/stock?item=donut&n=5", "", "", nil); st != 200 || body["donut"] != float64(5) {
		t.Fatalf("restock: %d %v", st, body)
	}
	if st, body, _ := call(t, c, "GET", tb.URL()+"/products", "", "", nil); st != 200 || len(body["items"].([]any)) != 3 {
		t.Fatalf("/products: %d %v", st, body)
	}
	if st, _, _ := call(t, c, "GET", tb.URL()+"/sales", "", "", nil); st != 405 {
		t.Fatalf("GET /sales: %d, want 405", st)
	}
}
