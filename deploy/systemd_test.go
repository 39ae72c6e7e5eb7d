package deploy_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
)

// unitDir holds the systemd units and the EnvironmentFiles they read.
const unitDir = "systemd"

// unit is a parsed systemd unit file: section -> key -> values in order.
type unit map[string]map[string][]string

func parseUnit(name string, b []byte) (unit, error) {
	u := unit{}
	var section string
	var cont strings.Builder
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cont.Len() == 0 && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cont.WriteString(s + " ")
			continue
		}
		cont.WriteString(line)
		line = cont.String()
		cont.Reset()
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE in a [Section], got %q", name, n, line)
		}
		u[section][key] = append(u[section][key], value)
	}
	return u, sc.Err()
}

func (u unit) one(section, key string) string {
	v := u[section][key]
	if len(v) != 1 {
		return ""
	}
	return v[0]
}

// parseEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does
// (no quotes are used in the shipped files).
func parseEnvFile(name string, b []byte) (map[string]string, error) {
	env := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(v, `"'`) {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE without quotes, got %q", name, i+1, line)
		}
		env[k] = v
	}
	return env, nil
}

// unitVar is a reference in ExecStart: ${VAR} (one argument) or, as a
// whole word, $VAR (split at spaces into as many arguments).
var unitVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
var unitWordVar = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`)

// credentialsDir stands in for the credentials directory systemd makes.
const credentialsDir = "/run/credentials/surge.service"

// execArgv expands ExecStart as systemd does for the variables and
// specifiers the shipped units use; an undefined variable (which systemd
// would silently make empty) or an unknown specifier is an error.
func execArgv(u unit, env map[string]string) ([]string, error) {
	line := u.one("Service", "ExecStart")
	if line == "" {
		return nil, errors.New("want exactly one ExecStart=")
	}
	if strings.ContainsAny(line[:1], "-@+!:") {
		return nil, fmt.Errorf("ExecStart=%s: no prefixes: a failure to start must not be ignored", line)
	}
	loaded := map[string]bool{}
	for _, lc := range u["Service"]["LoadCredential"] {
		id, _, _ := strings.Cut(lc, ":")
		loaded[id] = true
	}
	var argv []string
	var errs []error
	for _, w := range strings.Fields(line) {
		if m := unitWordVar.FindStringSubmatch(w); m != nil {
			v, ok := env[m[1]]
			if !ok {
				errs = append(errs, fmt.Errorf("ExecStart uses $%s, which the EnvironmentFile does not set", m[1]))
			}
			argv = append(argv, strings.Fields(v)...)
			continue
		}
		w = unitVar.ReplaceAllStringFunc(w, func(ref string) string {
			name := unitVar.FindStringSubmatch(ref)[1]
			if name == "CREDENTIALS_DIRECTORY" {
				return credentialsDir
			}
			v, ok := env[name]
			if !ok {
				errs = append(errs, fmt.Errorf("ExecStart uses ${%s}, which the EnvironmentFile does not set", name))
			}
			if v == "" {
				v = "stand-in-" + strings.ToLower(name) + "-0123456789"
			}
			return v
		})
		if cred, ok := strings.CutPrefix(w, credentialsDir+"/"); ok && !loaded[cred] {
			errs = append(errs, fmt.Errorf("ExecStart reads credential %q, which no LoadCredential= loads", cred))
		}
		var b strings.Builder
		for i := 0; i < len(w); i++ {
			if w[i] != '%' {
				b.WriteByte(w[i])
				continue
			}
			if i+1 == len(w) {
				errs = append(errs, fmt.Errorf("ExecStart: %q ends in %%", w))
				break
			}
			i++
			switch w[i] {
			case '%':
				b.WriteByte('%')
			case 'H':
				b.WriteString("loadgen-1")
			default:
				errs = append(errs, fmt.Errorf("ExecStart: specifier %%%c is not one this test knows", w[i]))
			}
		}
		argv = append(argv, b.String())
	}
	return argv, errors.Join(errs...)
}

// checkUnits returns every broken invariant of the units in files (names
// relative to unitDir).
func checkUnits(files map[string][]byte) []error {
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s/%s: %s", unitDir, name, fmt.Sprintf(format, args...)))
	}
	var serverListen string
	var serverTLS bool
	for _, c := range []struct {
		unit, sub string
		secrets   []string // keys of the EnvironmentFile that must be there, empty
		forbidden []string // keys it must not have
	}{
		{"surge-server.service", "server", []string{"SURGE_SECRET", "SURGE_AGENT_TOKEN"}, nil},
		{"surge-agent.service", "agent", []string{"SURGE_AGENT_TOKEN"}, []string{"SURGE_SECRET"}},
	} {
		u, err := parseUnit(c.unit, files[c.unit])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if u.one("Service", "DynamicUser") != "yes" && (u.one("Service", "User") == "" || u.one("Service", "User") == "root") {
			fail(c.unit, "runs as root: set DynamicUser=yes (or a User= of its own)")
		}
		if u.one("Service", "NoNewPrivileges") != "yes" {
			fail(c.unit, "NoNewPrivileges=yes is missing")
		}
		if u.one("Install", "WantedBy") == "" {
			fail(c.unit, "no [Install] WantedBy=: systemctl enable would do nothing")
		}
		envPath := u.one("Service", "EnvironmentFile")
		envName := path.Base(envPath)
		if envPath != "/etc/surge/"+envName || files[envName] == nil {
			fail(c.unit, "EnvironmentFile=%s: want /etc/surge/NAME.env with a NAME.env shipped beside the unit", envPath)
			continue
		}
		if !strings.Contains(string(files[envName]), "Mode 0600") {
			fail(envName, "must say it is installed with mode 0600: it holds the token")
		}
		env, err := parseEnvFile(envName, files[envName])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, k := range c.secrets {
			v, ok := env[k]
			switch {
			case !ok:
				fail(envName, "no %s=", k)
			case v != "":
				fail(envName, "%s ships a value: it ships empty (no default password)", k)
			}
		}
		for _, k := range c.forbidden {
			if _, ok := env[k]; ok {
				fail(envName, "holds %s: agents never hold the UI secret", k)
			}
		}
		argv, err := execArgv(u, env)
		if err != nil {
			fail(c.unit, "%v", err)
			continue
		}
		if argv[0] != "/usr/local/bin/surge" || len(argv) < 2 || argv[1] != c.sub {
			fail(c.unit, "ExecStart runs %q, want /usr/local/bin/surge %s …", argv, c.sub)
			continue
		}
		if err := surgeParses(argv[1:]); err != nil {
			fail(c.unit, "ExecStart does not parse with Surge's flags: %v", err)
		}
		args := argv[2:]
		if _, ok := flagValue(args, "token"); ok {
			fail(c.unit, "--token puts the token in the process list: surge reads SURGE_AGENT_TOKEN from the EnvironmentFile")
		}
		switch c.sub {
		case "server":
			serverListen, _ = flagValue(args, "listen")
			_, serverTLS = flagValue(args, "tls-cert")
			if data, _ := flagValue(args, "data"); data != "/var/lib/"+u.one("Service", "StateDirectory") {
				fail(c.unit, "--data %q is not the StateDirectory= (/var/lib/%s) systemd makes and keeps", data, u.one("Service", "StateDirectory"))
			}
		case "agent":
			raw, _ := flagValue(args, "server")
			su, err := url.Parse(raw)
			_, port, _ := net.SplitHostPort(serverListen)
			switch {
			case err != nil || su.Host == "":
				fail(c.unit, "--server %q: not a URL", raw)
			case serverTLS && su.Scheme != "https":
				fail(c.unit, "--server %s: the server unit has TLS: want https", raw)
			case su.Port() != port:
				fail(c.unit, "--server %s: want port %s, the server unit's --listen", raw, port)
			}
		}
	}
	return errs
}

func TestSystemdUnits(t *testing.T) {
	files, err := readTree(unitDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range checkUnits(files) {
		t.Error(err)
	}
}

func TestBrokenUnitsAreCaught(t *testing.T) {
	tests := []struct {
		name, file, old, new string
		want                 string
	}{
		{"misspelt variable", "surge-agent.service", "${SURGE_SERVER_URL}", "${SURGE_SERVER}", "${SURGE_SERVER}, which the EnvironmentFile does not set"},
		{"misspelt flag", "surge-server.service", "--listen 0.0.0.0:8089", "--listn 0.0.0.0:8089", "unknown flag: --listn"},
		{"token as an argument", "surge-agent.service", "--name %H", "--token ${SURGE_AGENT_TOKEN} --name %H", "process list"},
		{"credential not loaded", "surge-server.service", "LoadCredential=tls.key:", "LoadCredential=server.key:", `credential "tls.key"`},
		{"as root", "surge-server.service", "DynamicUser=yes", "DynamicUser=no", "runs as root"},
		{"privileges", "surge-agent.service", "NoNewPrivileges=yes", "NoNewPrivileges=no", "NoNewPrivileges=yes is missing"},
		{"default token", "agent.env", "SURGE_AGENT_TOKEN=\n", "SURGE_AGENT_TOKEN=hunter2hunter2hunter2\n", "ships a value"},
		{"agent holds the UI secret", "agent.env", "SURGE_AGENT_TOKEN=\n", "SURGE_AGENT_TOKEN=\nSURGE_SECRET=\n", "never hold the UI secret"},
		{"store outside the state directory", "surge-server.service", "--data /var/lib/surge", "--data /srv/surge", `--data "/srv/surge"`},
		{"agent on another port", "agent.env", ":8089", ":9000", "want port 8089"},
		{"env file mode unsaid", "server.env", "Mode 0600", "Mode 0644", "mode 0600"},
	}
	shipped, err := readTree(unitDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range shipped {
				files[k] = v
			}
			text := string(files[tt.file])
			if n := strings.Count(text, tt.old); n != 1 {
				t.Fatalf("%s holds %q %d times; the case needs it once", tt.file, tt.old, n)
			}
			files[tt.file] = []byte(strings.Replace(text, tt.old, tt.new, 1))
			var all []string
			for _, err := range checkUnits(files) {
				all = append(all, err.Error())
			}
			if got := strings.Join(all, "\n"); !strings.Contains(got, tt.want) {
				t.Fatalf("want a problem saying %q, got:\n%s", tt.want, got)
			}
		})
	}
}
