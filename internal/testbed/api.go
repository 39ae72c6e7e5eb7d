package testbed

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The API endpoints, for scenario tests and examples: a login that issues
// tokens, protected endpoints that answer 401 without one, and a small
// shop whose stock runs out.
//
//	POST /login      {"user": "alice", "password": "secret"} (or a form) → 200
//	                 {"access_token", "token_type", "user"}, a session cookie
//	                 and an X-Request-Id header; 401 on a wrong password
//	GET  /me         → {"user"}                      (token or session cookie)
//	GET  /todos      → {"user", "items": [3 todos]}  (token or session cookie)
//	GET  /products   → {"items": [{"name", "price", "stock"}]}
//	POST /sales      {"item": "donut", "qty": 1} → 201 {"id", "item", "qty",
//	                 "remaining"}; 409 once the item is sold out
//	GET  /stock      → {"donut": 100, …}; POST /stock?item=donut&n=5 sets it
const (
	// Password is the one password /login accepts, for any user name.
	Password = "secret"
	// DefaultStock is each product's stock when the server starts.
	DefaultStock = 100
)

// products are the shop's items and prices, in cents.
var products = []struct {
	name  string
	price int
}{{"donut", 250}, {"coffee", 300}, {"bagel", 200}}

// api is the state of the API endpoints. Its zero value is ready to use.
type api struct {
	mu     sync.Mutex
	init   bool
	tokens map[string]string // token -> user
	logins map[string]int64  // user -> successful logins
	stock  map[string]int
	sales  int
}

func (a *api) lock() {
	a.mu.Lock()
	if !a.init {
		a.init = true
		a.tokens, a.logins, a.stock = map[string]string{}, map[string]int64{}, map[string]int{}
		for _, p := range products {
			a.stock[p.name] = DefaultStock
		}
	}
}

// serveAPI answers the API endpoints and reports whether r was one of them.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) bool {
	a := &s.api
	switch r.URL.Path {
	case "/login":
		if !method(w, r, http.MethodPost) {
			return true
		}
		a.login(w, r)
	case "/me", "/todos":
		if !method(w, r, http.MethodGet) {
			return true
		}
		user, ok := a.user(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="testbed"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or bad token"})
			return true
		}
		if r.URL.Path == "/me" {
			writeJSON(w, http.StatusOK, map[string]string{"user": user})
			return true
		}
		items := make([]map[string]any, 3)
		for i := range items {
			items[i] = map[string]any{"id": i + 1, "title": "todo " + strconv.Itoa(i+1) + " of " + user, "done": i == 0}
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": user, "items": items})
	case "/products":
		if !method(w, r, http.MethodGet) {
			return true
		}
		a.lock()
		items := make([]map[string]any, len(products))
		for i, p := range products {
			items[i] = map[string]any{"name": p.name, "price": p.price, "stock": a.stock[p.name]}
		}
		a.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
	case "/sales":
		if !method(w, r, http.MethodPost) {
			return true
		}
		a.sell(w, r)
	case "/stock":
		a.stockHandler(w, r)
	default:
		return false
	}
	return true
}

// maxAPIBody bounds the request bodies the API endpoints read.
const maxAPIBody = 1 << 20

// readBody reads r's body to the end, as every testbed handler does before
// answering; the API endpoints that read their body get it back.
func readBody(r *http.Request) {
	switch r.URL.Path {
	case "/login", "/sales":
		b, _ := io.ReadAll(io.LimitReader(r.Body, maxAPIBody))
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
	default:
		_, _ = io.Copy(io.Discard, r.Body)
	}
}

func method(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method == m {
		return true
	}
	w.Header().Set("Allow", m)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use " + m})
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		User     string `json:"user"`
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad form"})
			return
		}
		in.User, in.Password = r.PostForm.Get("user"), r.PostForm.Get("password")
	} else if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON body {\"user\", \"password\"}"})
		return
	}
	user := in.User
	if user == "" {
		user = in.Username
	}
	if user == "" {
		user = in.Email
	}
	if user == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "missing user"})
		return
	}
	if in.Password != Password {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad credentials"})
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	a.lock()
	a.tokens[token] = user
	a.logins[user]++
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "session", Value: token, Path: "/", HttpOnly: true})
	w.Header().Set("X-Request-Id", token[:8])
	writeJSON(w, http.StatusOK, map[string]string{"access_token": token, "token_type": "bearer", "user": user})
}

// user returns who r is logged in as: a bearer token, or the session cookie.
func (a *api) user(r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		c, err := r.Cookie("session")
		if err != nil {
			return "", false
		}
		token = c.Value
	}
	a.lock()
	defer a.mu.Unlock()
	u, ok := a.tokens[strings.TrimSpace(token)]
	return u, ok
}

func (a *api) sell(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Item == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON body {\"item\", \"qty\"}"})
		return
	}
	if in.Qty <= 0 {
		in.Qty = 1
	}
	a.lock()
	left, known := a.stock[in.Item]
	switch {
	case !known:
		a.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
	case left < in.Qty:
		a.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]any{"error": "sold out", "remaining": left})
	default:
		a.stock[in.Item] = left - in.Qty
		a.sales++
		id := a.sales
		a.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"id": id, "item": in.Item, "qty": in.Qty, "remaining": left - in.Qty})
	}
}

func (a *api) stockHandler(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		q := r.URL.Query()
		n, err := strconv.Atoi(q.Get("n"))
		if err != nil || n < 0 || q.Get("item") == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want ?item=NAME&n=COUNT"})
			return
		}
		a.lock()
		if _, ok := a.stock[q.Get("item")]; !ok {
			a.mu.Unlock()
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
			return
		}
		a.stock[q.Get("item")] = n
		a.mu.Unlock()
	default:
		method(w, r, http.MethodGet)
		return
	}
	a.lock()
	out := make(map[string]int, len(a.stock))
	for k, v := range a.stock {
		out[k] = v
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// Logins returns how many times each user logged in successfully.
func (s *Server) Logins() map[string]int64 {
	a := &s.api
	a.lock()
	defer a.mu.Unlock()
	out := make(map[string]int64, len(a.logins))
	for k, v := range a.logins {
		out[k] = v
	}
	return out
}

// Stock returns an item's remaining stock.
func (s *Server) Stock(item string) int {
	a := &s.api
	a.lock()
	defer a.mu.Unlock()
	return a.stock[item]
}

// SetStock sets an item's stock.
func (s *Server) SetStock(item string, n int) {
	a := &s.api
	a.lock()
	defer a.mu.Unlock()
	if _, ok := a.stock[item]; ok {
		a.stock[item] = n
	}
}

// Sales is the number of successful sales.
func (s *Server) Sales() int {
	a := &s.api
	a.lock()
	defer a.mu.Unlock()
	return a.sales
}
