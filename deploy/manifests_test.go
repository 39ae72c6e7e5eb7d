package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/surgeload/surge/internal/cli"
)

// healthPath and readyPath are the server's unauthenticated liveness and
// readiness routes (internal/server/server.go, docs/api.md): a server
// whose store cannot write is not ready, but a restart would not help it.
const (
	healthPath = "/api/v1/health"
	readyPath  = "/api/v1/ready"
)

// manifestDir holds the Kubernetes manifests, secrets/ included.
const manifestDir = "kubernetes"

// kinds are the objects the manifests may hold, each decoded into its
// k8s.io/api type. A kind not listed here is an error, so a misspelt kind
// fails as a misspelt field does.
var kinds = map[string]func() any{
	"v1/Namespace":        func() any { return new(corev1.Namespace) },
	"v1/Secret":           func() any { return new(corev1.Secret) },
	"v1/Service":          func() any { return new(corev1.Service) },
	"apps/v1/StatefulSet": func() any { return new(appsv1.StatefulSet) },
	"apps/v1/Deployment":  func() any { return new(appsv1.Deployment) },
}

// bundle is every object of the manifests, by kind.
type bundle struct {
	files        map[string][]byte
	namespaces   []*corev1.Namespace
	secrets      []*corev1.Secret
	services     []*corev1.Service
	statefulSets []*appsv1.StatefulSet
	deployments  []*appsv1.Deployment
	where        map[any]string
}

// readTree reads every file under dir, keyed by slash path relative to it.
func readTree(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	return files, err
}

// docStart matches the line that starts a YAML document.
var docStart = regexp.MustCompile(`^---(\s.*)?$`)

// splitDocs splits a YAML stream into documents, each with the number of
// its first line, leaving out documents that hold only comments.
func splitDocs(b []byte) (docs [][]byte, lines []int) {
	var cur bytes.Buffer
	start, n, content := 1, 0, false
	flush := func() {
		if content {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			lines = append(lines, start)
		}
		cur.Reset()
		content = false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		n++
		line := sc.Text()
		if docStart.MatchString(line) {
			flush()
			start = n + 1
			continue
		}
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			if !content {
				start = n
			}
			content = true
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs, lines
}

// decode decodes every .yaml/.yml file of files strictly into its
// Kubernetes type.
func decode(files map[string][]byte) (*bundle, error) {
	b := &bundle{files: files, where: map[any]string{}}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if ext := filepath.Ext(name); ext != ".yaml" && ext != ".yml" {
			errs = append(errs, fmt.Errorf("%s: not a .yaml file; kubectl apply -f would skip it", name))
			continue
		}
		docs, lines := splitDocs(files[name])
		if len(docs) == 0 {
			errs = append(errs, fmt.Errorf("%s: no documents", name))
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s/%s:%d", manifestDir, name, lines[i])
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			gvk := tm.APIVersion + "/" + tm.Kind
			mk, ok := kinds[gvk]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown kind %q (apiVersion %q): the manifests hold %s", where, tm.Kind, tm.APIVersion, strings.Join(sortedKeys(kinds), ", ")))
				continue
			}
			obj := mk()
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", where, tm.Kind, err))
				continue
			}
			b.where[obj] = where
			switch o := obj.(type) {
			case *corev1.Namespace:
				b.namespaces = append(b.namespaces, o)
			case *corev1.Secret:
				b.secrets = append(b.secrets, o)
			case *corev1.Service:
				b.services = append(b.services, o)
			case *appsv1.StatefulSet:
				b.statefulSets = append(b.statefulSets, o)
			case *appsv1.Deployment:
				b.deployments = append(b.deployments, o)
			}
		}
	}
	return b, errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// image is what the manifests need to know about the image the
// Dockerfile builds.
type image struct {
	entrypoint []string
	uid        int64
}

// checker collects the problems found, each with the object it is in.
type checker struct {
	b    *bundle
	img  image
	errs []error
}

func (c *checker) errorf(obj any, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", c.b.where[obj], fmt.Sprintf(format, args...)))
}

// check returns every broken invariant of the manifests.
func check(b *bundle, img image) []error {
	c := &checker{b: b, img: img}
	c.namespace()
	c.secretsShipEmpty()
	for _, s := range b.statefulSets {
		c.workload(s, s.Spec.Selector, &s.Spec.Template, s.Spec.VolumeClaimTemplates)
	}
	for _, d := range b.deployments {
		c.workload(d, d.Spec.Selector, &d.Spec.Template, nil)
	}
	server := c.server()
	c.agents(server)
	return c.errs
}

// namespace: one Namespace, and every object in it.
func (c *checker) namespace() {
	if len(c.b.namespaces) != 1 {
		c.errs = append(c.errs, fmt.Errorf("%s: want one Namespace, found %d", manifestDir, len(c.b.namespaces)))
		return
	}
	ns := c.b.namespaces[0].Name
	for obj := range c.b.where {
		if m, ok := obj.(metav1.Object); ok && obj != any(c.b.namespaces[0]) && m.GetNamespace() != ns {
			c.errorf(obj, "%s is in namespace %q, want %q (the Namespace of the manifests)", m.GetName(), m.GetNamespace(), ns)
		}
	}
}

// secretsShipEmpty: there is no default password, so every shipped Secret
// value is empty, and the Secret the server reads says how long its
// secret must be.
func (c *checker) secretsShipEmpty() {
	for _, s := range c.b.secrets {
		for k, v := range s.StringData {
			if v != "" {
				c.errorf(s, "Secret %s key %s ships a value: Secrets ship empty (no default password)", s.Name, k)
			}
		}
		for k, v := range s.Data {
			if len(v) != 0 {
				c.errorf(s, "Secret %s key %s ships a value: Secrets ship empty (no default password)", s.Name, k)
			}
		}
		if _, ok := s.StringData["SURGE_SECRET"]; ok {
			file := strings.SplitN(c.b.where[s], ":", 2)[0]
			text := string(c.b.files[strings.TrimPrefix(file, manifestDir+"/")])
			if want := fmt.Sprintf("at least %d characters", cli.MinSecretLength); !strings.Contains(text, want) {
				c.errorf(s, "the comments of Secret %s must say that off loopback the secret needs %q", s.Name, want)
			}
		}
	}
}

func (c *checker) secret(name string) *corev1.Secret {
	for _, s := range c.b.secrets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func hasKey(s *corev1.Secret, key string) bool {
	_, inString := s.StringData[key]
	_, inData := s.Data[key]
	return inString || inData
}

// workload checks what every pod template must have.
func (c *checker) workload(obj any, sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, claims []corev1.PersistentVolumeClaim) {
	name := obj.(metav1.Object).GetName()
	s, err := metav1.LabelSelectorAsSelector(sel)
	switch {
	case err != nil:
		c.errorf(obj, "%s: selector: %v", name, err)
	case s.Empty() || !s.Matches(labels.Set(t.Labels)):
		c.errorf(obj, "%s: the selector %v does not select the pod template's labels %v", name, s, t.Labels)
	}
	p := &t.Spec
	if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
		c.errorf(obj, "%s: automountServiceAccountToken must be false: Surge does not talk to the Kubernetes API", name)
	}
	psc := p.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		c.errorf(obj, "%s: the pod's securityContext must set runAsNonRoot: true", name)
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != c.img.uid {
		c.errorf(obj, "%s: the pod's securityContext must set runAsUser: %d (the image's USER)", name, c.img.uid)
	}
	if len(p.Containers) == 0 {
		c.errorf(obj, "%s: no containers", name)
	}
	volumes := map[string]*corev1.Volume{}
	for i := range p.Volumes {
		v := &p.Volumes[i]
		volumes[v.Name] = v
		if v.Secret != nil {
			sec := c.secret(v.Secret.SecretName)
			if sec == nil {
				c.errorf(obj, "%s: volume %s mounts Secret %q, which the manifests do not define", name, v.Name, v.Secret.SecretName)
				continue
			}
			for _, it := range v.Secret.Items {
				if !hasKey(sec, it.Key) {
					c.errorf(obj, "%s: volume %s mounts key %q of Secret %s, which has no such key", name, v.Name, it.Key, sec.Name)
				}
			}
		}
	}
	for _, pvc := range claims {
		if _, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; !ok {
			c.errorf(obj, "%s: volumeClaimTemplate %s requests no storage", name, pvc.Name)
		}
	}
	for i := range p.Containers {
		c.container(obj, name, &p.Containers[i], volumes, claims)
	}
}

func (c *checker) container(obj any, pod string, ct *corev1.Container, volumes map[string]*corev1.Volume, claims []corev1.PersistentVolumeClaim) {
	name := pod + "/" + ct.Name
	sc := ct.SecurityContext
	switch {
	case sc == nil:
		c.errorf(obj, "%s: no securityContext", name)
	default:
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			c.errorf(obj, "%s: allowPrivilegeEscalation must be false", name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			c.errorf(obj, "%s: readOnlyRootFilesystem must be true", name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			c.errorf(obj, "%s: privileged", name)
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
			c.errorf(obj, "%s: capabilities must drop ALL and add none", name)
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := ct.Resources.Requests[r]
		lim, okLim := ct.Resources.Limits[r]
		if !okReq || !okLim {
			c.errorf(obj, "%s: resources must give both a request and a limit of %s", name, r)
			continue
		}
		if req.Cmp(lim) > 0 {
			c.errorf(obj, "%s: the %s request %s is above its limit %s", name, r, req.String(), lim.String())
		}
	}
	if ct.Image == "" || strings.HasSuffix(ct.Image, ":latest") || !strings.Contains(ct.Image, ":") {
		c.errorf(obj, "%s: image %q: give a tag other than latest", name, ct.Image)
	}
	for _, m := range ct.VolumeMounts {
		_, isVolume := volumes[m.Name]
		isClaim := false
		for _, pvc := range claims {
			isClaim = isClaim || pvc.Name == m.Name
		}
		if !isVolume && !isClaim {
			c.errorf(obj, "%s: volumeMount %s names no volume or volumeClaimTemplate", name, m.Name)
		}
	}
	for _, e := range ct.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if sec := c.secret(ref.Name); sec == nil {
			c.errorf(obj, "%s: env %s reads Secret %q, which the manifests do not define", name, e.Name, ref.Name)
		} else if !hasKey(sec, ref.Key) {
			c.errorf(obj, "%s: env %s reads key %q of Secret %s, which has no such key (it has %s)", name, e.Name, ref.Key, sec.Name, strings.Join(secretKeys(sec), ", "))
		}
	}
	argv, err := c.argv(ct)
	if err != nil {
		c.errorf(obj, "%s: %v", name, err)
		return
	}
	if err := surgeParses(argv[1:]); err != nil {
		c.errorf(obj, "%s: the command does not parse with Surge's flags: %v", name, err)
	}
}

func secretKeys(s *corev1.Secret) []string {
	var keys []string
	for k := range s.StringData {
		keys = append(keys, k)
	}
	for k := range s.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// kubeVar is a $(VAR) reference, which the kubelet expands in command
// and args from the container's env; an undefined one is left as it is,
// silently.
var kubeVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// argv returns the command line the container runs, with $(VAR)
// references expanded to stand-in values (the kubelet expands them to the
// real ones); a reference to a variable the container lacks is an error.
func (c *checker) argv(ct *corev1.Container) ([]string, error) {
	cmd := ct.Command
	if len(cmd) == 0 {
		cmd = c.img.entrypoint
	}
	if len(cmd) != 1 || cmd[0] != c.img.entrypoint[0] {
		return nil, fmt.Errorf("command %q: want the image's entrypoint %q", cmd, c.img.entrypoint)
	}
	values := map[string]string{}
	for _, e := range ct.Env {
		switch {
		case e.ValueFrom == nil:
			values[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			values[e.Name] = "stand-in-" + strings.ToLower(e.Name) + "-0123456789"
		default:
			values[e.Name] = "stand-in-" + strings.ToLower(strings.ReplaceAll(e.Name, "_", "-"))
		}
	}
	argv := []string{cmd[0]}
	var errs []error
	for _, a := range ct.Args {
		argv = append(argv, kubeVar.ReplaceAllStringFunc(a, func(ref string) string {
			name := kubeVar.FindStringSubmatch(ref)[1]
			v, ok := values[name]
			if !ok {
				errs = append(errs, fmt.Errorf("argument %q refers to $(%s), which is not in the container's env", a, name))
			}
			return v
		}))
	}
	return argv, errors.Join(errs...)
}

// flagValue returns the value of --name in args (as "--name V" or
// "--name=V") and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// serverInfo is what the agents' checks need to know of the server.
type serverInfo struct {
	sts     *appsv1.StatefulSet
	service *corev1.Service
	port    int32 // the Service's port that reaches the server
	tls     bool
}

// server checks the StatefulSet that runs `surge server` and its Services.
func (c *checker) server() *serverInfo {
	if len(c.b.statefulSets) != 1 {
		c.errs = append(c.errs, fmt.Errorf("%s: want one StatefulSet (the server), found %d", manifestDir, len(c.b.statefulSets)))
		return nil
	}
	s := c.b.statefulSets[0]
	info := &serverInfo{sts: s}
	if s.Spec.Replicas == nil || *s.Spec.Replicas != 1 {
		c.errorf(s, "%s: the server runs as one replica: the store is one SQLite database and a run has one controller", s.Name)
	}
	podLabels := labels.Set(s.Spec.Template.Labels)
	if len(s.Spec.Template.Spec.Containers) != 1 {
		c.errorf(s, "%s: want one container, found %d", s.Name, len(s.Spec.Template.Spec.Containers))
		return info
	}
	ct := &s.Spec.Template.Spec.Containers[0]
	if len(ct.Args) == 0 || ct.Args[0] != "server" {
		c.errorf(s, "%s: the container must run `surge server`, runs %q", s.Name, ct.Args)
		return info
	}
	args := ct.Args[1:]

	// --listen: on every interface, on the container port.
	listen, _ := flagValue(args, "listen")
	host, portText, err := net.SplitHostPort(listen)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil || host != "0.0.0.0" {
		c.errorf(s, "%s: --listen %q: want 0.0.0.0:PORT, so that the Service reaches it", s.Name, listen)
	}
	var cport *corev1.ContainerPort
	for i := range ct.Ports {
		if int(ct.Ports[i].ContainerPort) == port {
			cport = &ct.Ports[i]
		}
	}
	if cport == nil {
		c.errorf(s, "%s: no containerPort %d, the port of --listen %s", s.Name, port, listen)
		cport = &corev1.ContainerPort{ContainerPort: -1}
	}
	resolves := func(p intstr.IntOrString) bool {
		if p.Type == intstr.String {
			return p.StrVal != "" && p.StrVal == cport.Name
		}
		return p.IntVal == cport.ContainerPort
	}

	// TLS: with --tls-cert, the listener (and so the probes) speak HTTPS.
	_, info.tls = flagValue(args, "tls-cert")
	scheme := corev1.URISchemeHTTP
	if info.tls {
		scheme = corev1.URISchemeHTTPS
	}
	for _, pr := range []struct {
		kind  string
		probe *corev1.Probe
		path  string
	}{{"readinessProbe", ct.ReadinessProbe, readyPath}, {"livenessProbe", ct.LivenessProbe, healthPath}} {
		switch {
		case pr.probe == nil:
			c.errorf(s, "%s: no %s: probe %s", s.Name, pr.kind, pr.path)
		case pr.probe.HTTPGet == nil:
			c.errorf(s, "%s: %s must be an httpGet of %s (there is no shell for exec probes)", s.Name, pr.kind, pr.path)
		default:
			g := pr.probe.HTTPGet
			if g.Path != pr.path {
				c.errorf(s, "%s: %s probes %q, want %s", s.Name, pr.kind, g.Path, pr.path)
			}
			if !resolves(g.Port) {
				c.errorf(s, "%s: %s probes port %s, not the port of --listen %s", s.Name, pr.kind, g.Port.String(), listen)
			}
			if g.Scheme != scheme && !(g.Scheme == "" && scheme == corev1.URISchemeHTTP) {
				c.errorf(s, "%s: %s probes with scheme %q; the listener speaks %s", s.Name, pr.kind, g.Scheme, scheme)
			}
		}
	}

	// --data: on the volume of a volumeClaimTemplate.
	data, ok := flagValue(args, "data")
	if !ok {
		c.errorf(s, "%s: no --data: the store would be in the read-only root filesystem", s.Name)
	}
	onClaim := false
	for _, m := range ct.VolumeMounts {
		if filepath.Clean(m.MountPath) != filepath.Clean(data) {
			continue
		}
		for _, pvc := range s.Spec.VolumeClaimTemplates {
			onClaim = onClaim || pvc.Name == m.Name
		}
	}
	if ok && !onClaim {
		c.errorf(s, "%s: --data %s is not where a volumeClaimTemplate's volume is mounted: the store would not persist", s.Name, data)
	}

	// The secret and the agent token, from the Secret.
	for _, env := range []string{"SURGE_SECRET", "SURGE_AGENT_TOKEN"} {
		if ref := secretRef(ct, env); ref == nil {
			c.errorf(s, "%s: env %s must come from a Secret (secretKeyRef)", s.Name, env)
		}
	}

	// The Services: the governing one is headless, one reaches the port,
	// and each selects the server's pods and no agent's.
	var governing *corev1.Service
	for _, svc := range c.b.services {
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		if len(svc.Spec.Selector) == 0 || !sel.Matches(podLabels) {
			c.errorf(svc, "Service %s: selector %v does not select the server's pods %v", svc.Name, svc.Spec.Selector, podLabels)
			continue
		}
		for _, d := range c.b.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				c.errorf(svc, "Service %s: selector %v also selects the pods of %s", svc.Name, svc.Spec.Selector, d.Name)
			}
		}
		if svc.Name == s.Spec.ServiceName {
			governing = svc
		}
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if resolves(p.TargetPort) || (p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" && p.Port == cport.ContainerPort) {
				info.service, info.port = svc, p.Port
			}
		}
	}
	if governing == nil || governing.Spec.ClusterIP != corev1.ClusterIPNone {
		c.errorf(s, "%s: serviceName %q must name a headless Service (clusterIP: None) that selects its pods", s.Name, s.Spec.ServiceName)
	}
	if info.service == nil {
		c.errorf(s, "%s: no Service reaches the server's port %d", s.Name, cport.ContainerPort)
	}
	return info
}

func secretRef(ct *corev1.Container, env string) *corev1.SecretKeySelector {
	for _, e := range ct.Env {
		if e.Name == env && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}

// agents checks the Deployment that runs `surge agent`.
func (c *checker) agents(server *serverInfo) {
	if len(c.b.deployments) != 1 {
		c.errs = append(c.errs, fmt.Errorf("%s: want one Deployment (the agents), found %d", manifestDir, len(c.b.deployments)))
		return
	}
	d := c.b.deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
		c.errorf(d, "%s: replicas is the number of load machines: give at least 1", d.Name)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		c.errorf(d, "%s: want one container, found %d", d.Name, len(d.Spec.Template.Spec.Containers))
		return
	}
	ct := &d.Spec.Template.Spec.Containers[0]
	if len(ct.Args) == 0 || ct.Args[0] != "agent" {
		c.errorf(d, "%s: the container must run `surge agent`, runs %q", d.Name, ct.Args)
		return
	}
	args := ct.Args[1:]
	c.onePerMachine(d)

	// Agents hold the agent token, never the UI secret nor the server's key.
	var serverToken, serverSecret *corev1.SecretKeySelector
	if server != nil && len(server.sts.Spec.Template.Spec.Containers) == 1 {
		sct := &server.sts.Spec.Template.Spec.Containers[0]
		serverToken, serverSecret = secretRef(sct, "SURGE_AGENT_TOKEN"), secretRef(sct, "SURGE_SECRET")
	}
	for _, e := range ct.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref.Key == "SURGE_SECRET" || (serverSecret != nil && ref.Name == serverSecret.Name && ref.Key == serverSecret.Key) {
			c.errorf(d, "%s: env %s holds the UI secret: agents never hold it", d.Name, e.Name)
		}
	}
	// The token comes from the environment (surge agent reads
	// SURGE_AGENT_TOKEN), from the Secret key the server reads; as an
	// argument it would show in the node's process list.
	if _, ok := flagValue(args, "token"); ok {
		c.errorf(d, "%s: --token puts the token in the node's process list: give it as env SURGE_AGENT_TOKEN only", d.Name)
	}
	if ref := secretRef(ct, "SURGE_AGENT_TOKEN"); ref == nil || serverToken == nil || ref.Name != serverToken.Name || ref.Key != serverToken.Key {
		c.errorf(d, "%s: env SURGE_AGENT_TOKEN must come from the Secret key the server's SURGE_AGENT_TOKEN reads", d.Name)
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		if len(v.Secret.Items) == 0 {
			c.errorf(d, "%s: volume %s mounts all of Secret %s: list the keys agents need (items)", d.Name, v.Name, v.Secret.SecretName)
		}
		for _, it := range v.Secret.Items {
			if strings.HasSuffix(it.Key, ".key") {
				c.errorf(d, "%s: volume %s mounts the private key %s: agents need the CA only", d.Name, v.Name, it.Key)
			}
		}
	}

	// --server names the server's Service, on its port, over TLS when the
	// server has TLS.
	raw, ok := flagValue(args, "server")
	if !ok {
		c.errorf(d, "%s: no --server", d.Name)
		return
	}
	if server == nil || server.service == nil {
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		c.errorf(d, "%s: --server %q: %v", d.Name, raw, err)
		return
	}
	svc, ns := server.service.Name, server.service.Namespace
	hosts := []string{svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"}
	wantScheme := "http"
	if server.tls {
		wantScheme = "https"
	}
	if u.Scheme != wantScheme {
		c.errorf(d, "%s: --server %s: want scheme %s", d.Name, raw, wantScheme)
	}
	if !slices.Contains(hosts, u.Hostname()) {
		c.errorf(d, "%s: --server %s does not name the server's Service (%s)", d.Name, raw, strings.Join(hosts, " or "))
	}
	if u.Port() != strconv.Itoa(int(server.port)) {
		c.errorf(d, "%s: --server %s: want port %d, the Service's", d.Name, raw, server.port)
	}
	if server.tls {
		if _, ok := flagValue(args, "ca"); !ok {
			c.errorf(d, "%s: the server has TLS: give the agents --ca", d.Name)
		}
	}
}

// onePerMachine: the replicas are machines, so two agents never share a
// node.
func (c *checker) onePerMachine(d *appsv1.Deployment) {
	a := d.Spec.Template.Spec.Affinity
	if a != nil && a.PodAntiAffinity != nil {
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
			if err == nil && term.TopologyKey == "kubernetes.io/hostname" && !sel.Empty() && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				return
			}
		}
	}
	c.errorf(d, "%s: replicas are load machines: require pod anti-affinity on kubernetes.io/hostname against the agents' own labels", d.Name)
}

// loadImage reads what the manifests need of the Dockerfile.
func loadImage(t *testing.T) image {
	t.Helper()
	df, err := parseDockerfile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	fin := df.stages[len(df.stages)-1]
	img := image{entrypoint: fin.entrypoint}
	if len(img.entrypoint) == 0 {
		t.Fatal("../Dockerfile: the final stage has no ENTRYPOINT")
	}
	uid, err := numericUID(fin.user)
	if err != nil {
		t.Fatalf("../Dockerfile: %v", err)
	}
	img.uid = uid
	return img
}

func TestManifests(t *testing.T) {
	img := loadImage(t)
	files, err := readTree(manifestDir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := decode(files)
	if err != nil {
		t.Fatalf("decoding the manifests strictly:\n%v", err)
	}
	for _, err := range check(b, img) {
		t.Error(err)
	}
}

// Each case breaks the shipped manifests in one way and expects the check
// to say so: the checks above can fail, and fail for the right reason.
func TestBrokenManifestsAreCaught(t *testing.T) {
	img := loadImage(t)
	tests := []struct {
		name, file, old, new string
		want                 string
	}{
		{"misspelt field", "10-server.yaml", "readinessProbe:", "readinesProbe:", `StatefulSet: error unmarshaling JSON: while decoding JSON: json: unknown field "readinesProbe"`},
		{"misspelt kind", "20-agents.yaml", "kind: Deployment", "kind: Deploymnt", `unknown kind "Deploymnt"`},
		{"duplicate key", "20-agents.yaml", "  replicas: 3\n", "  replicas: 3\n  replicas: 4\n", "already set"},
		{"no liveness probe", "10-server.yaml", "livenessProbe:", "startupProbe:", "no livenessProbe"},
		{"probe on another path", "10-server.yaml", "path: /api/v1/health\n              port: https\n              scheme: HTTPS\n            initialDelaySeconds",
			"path: /healthz\n              port: https\n              scheme: HTTPS\n            initialDelaySeconds", `livenessProbe probes "/healthz"`},
		{"readiness on the liveness path", "10-server.yaml", "path: /api/v1/ready", "path: /api/v1/health", `readinessProbe probes "/api/v1/health", want /api/v1/ready`},
		{"probe over plain HTTP", "10-server.yaml", "scheme: HTTPS\n            periodSeconds: 5", "scheme: HTTP\n            periodSeconds: 5", `readinessProbe probes with scheme "HTTP"`},
		{"root allowed", "20-agents.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot: true"},
		{"writable root", "10-server.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem must be true"},
		{"privilege escalation", "20-agents.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation must be false"},
		{"no limits", "20-agents.yaml", "            limits:\n              cpu: \"2\"\n              memory: 2Gi\n", "", "a request and a limit of cpu"},
		{"store off the volume", "10-server.yaml", "            - /var/lib/surge\n", "            - /var/lib/surge-data\n", "--data /var/lib/surge-data is not where"},
		{"two servers", "10-server.yaml", "  replicas: 1\n", "  replicas: 2\n", "one replica"},
		{"listen on loopback", "10-server.yaml", "- 0.0.0.0:8089", "- 127.0.0.1:8089", `--listen "127.0.0.1:8089"`},
		{"Service selects agents", "10-server.yaml", "type: ClusterIP\n  selector:\n    app.kubernetes.io/name: surge\n    app.kubernetes.io/component: server",
			"type: ClusterIP\n  selector:\n    app.kubernetes.io/name: surge", "also selects the pods of surge-agent"},
		{"missing Secret key", "20-agents.yaml", "key: SURGE_AGENT_TOKEN", "key: SURGE_AGENT_TOKN", `reads key "SURGE_AGENT_TOKN" of Secret surge, which has no such key`},
		{"agents hold the UI secret", "20-agents.yaml", "key: SURGE_AGENT_TOKEN", "key: SURGE_SECRET", "holds the UI secret"},
		{"agents get the server's key", "20-agents.yaml", "- key: ca.crt\n                path: ca.crt", "- key: tls.key\n                path: tls.key", "mounts the private key tls.key"},
		{"default password", "secrets/surge-secrets.yaml", `SURGE_SECRET: ""`, `SURGE_SECRET: "correct-horse-battery"`, "ships a value"},
		{"agents point elsewhere", "20-agents.yaml", "https://surge-server.surge.svc:8089", "https://surge.surge.svc:8089", "does not name the server's Service"},
		{"agents on the wrong port", "20-agents.yaml", "https://surge-server.surge.svc:8089", "https://surge-server.surge.svc:8080", "want port 8089"},
		{"agents without TLS", "20-agents.yaml", "https://surge-server.surge.svc:8089", "http://surge-server.surge.svc:8089", "want scheme https"},
		{"token as an argument", "20-agents.yaml", "            - --name\n", "            - --token\n            - $(SURGE_AGENT_TOKEN)\n            - --name\n", "process list"},
		{"token from another Secret", "20-agents.yaml", "                  name: surge\n                  key: SURGE_AGENT_TOKEN", "                  name: surge-tls\n                  key: ca.crt", "must come from the Secret key the server's"},
		{"undefined $(VAR)", "20-agents.yaml", "$(POD_NAME)", "$(POD_NAM)", "$(POD_NAM), which is not in the container's env"},
		{"agents share machines", "20-agents.yaml", "topologyKey: kubernetes.io/hostname", "topologyKey: topology.kubernetes.io/zone", "anti-affinity on kubernetes.io/hostname"},
		{"misspelt flag", "10-server.yaml", "- --listen\n", "- --listn\n", "unknown flag: --listn"},
		{"unknown subcommand", "20-agents.yaml", "- agent\n", "- agnet\n", "the container must run `surge agent`"},
		{"wrong namespace", "20-agents.yaml", "  namespace: surge\n", "  namespace: default\n", `is in namespace "default"`},
		{"secret comment drops the length", "secrets/surge-secrets.yaml", "at least 16 characters", "a long value", "at least 16 characters"},
	}
	shipped, err := readTree(manifestDir)
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
			b, err := decode(files)
			var all []string
			if err != nil {
				all = append(all, err.Error())
			} else {
				for _, err := range check(b, img) {
					all = append(all, err.Error())
				}
			}
			got := strings.Join(all, "\n")
			if !strings.Contains(got, tt.want) {
				t.Fatalf("want a problem saying %q, got:\n%s", tt.want, got)
			}
		})
	}
}
