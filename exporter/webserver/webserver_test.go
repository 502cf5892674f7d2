package webserver

import (
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

func serve(t *testing.T, webConfig string) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "servebench_test_total", Help: "t"})
	c.Add(3)
	reg.MustRegister(c)
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, Handler(reg, slog.New(slog.DiscardHandler), "test"), webConfig, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	})
	return "http://" + l.Addr().String()
}

func get(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsHealthAndLanding(t *testing.T) {
	base := serve(t, "")
	if code, body := get(t, base+"/metrics", "", ""); code != 200 || !strings.Contains(body, "servebench_test_total 3") {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if code, body := get(t, base+"/-/healthy", "", ""); code != 200 || body != "Healthy\n" {
		t.Errorf("/-/healthy: %d %q", code, body)
	}
	if code, body := get(t, base+"/", "", ""); code != 200 || !strings.Contains(body, `href="metrics"`) {
		t.Errorf("/: %d %q", code, body)
	}
	if code, _ := get(t, base+"/nothing", "", ""); code != 404 {
		t.Errorf("/nothing: %d, want 404", code)
	}
}

func TestBasicAuthFromWebConfig(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "basic_auth_users:\n  prom: %s\n", hash), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Validate(cfg); err != nil {
		t.Fatal(err)
	}
	base := serve(t, cfg)
	if code, _ := get(t, base+"/metrics", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", code)
	}
	if code, _ := get(t, base+"/metrics", "prom", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, body := get(t, base+"/metrics", "prom", "s3cret"); code != 200 || !strings.Contains(body, "servebench_test_total") {
		t.Errorf("right password: %d %q", code, body)
	}
}

func TestValidateRejectsBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "web.yml")
	os.WriteFile(cfg, []byte("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\nbogus: 1\n"), 0o600)
	if err := Validate(cfg); err == nil || !strings.Contains(err.Error(), cfg) {
		t.Errorf("Validate(bad) = %v, want an error naming the file", err)
	}
	if err := Validate(""); err != nil {
		t.Errorf("Validate(\"\") = %v", err)
	}
}

func TestGzipWhenAccepted(t *testing.T) {
	base := serve(t, "")
	for _, c := range []struct {
		accept string
		gz     bool
	}{{"gzip", true}, {"deflate, gzip;q=0.5", true}, {"identity", false}, {"gzip;q=0", false}, {"", false}} {
		req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
		req.Header.Set("Accept-Encoding", c.accept)
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != c.gz {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", c.accept, got, c.gz)
		} else if got {
			if body, err = gzip.NewReader(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		b, _ := io.ReadAll(body)
		resp.Body.Close()
		if !strings.Contains(string(b), "servebench_test_total 3") {
			t.Errorf("Accept-Encoding %q: body %q", c.accept, b)
		}
	}
}

// TLS from the web config: HTTPS answers, plain HTTP does not.
func TestTLSFromWebConfig(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cfg := filepath.Join(dir, "web.yml")
	os.WriteFile(cfg, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n", certFile, keyFile), 0o600)
	if err := Validate(cfg); err != nil {
		t.Fatal(err)
	}
	base := serve(t, cfg)
	pool := x509.NewCertPool()
	pool.AddCert(must(x509.ParseCertificate(der)))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(strings.Replace(base, "http://", "https://", 1) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "servebench_test_total 3") {
		t.Errorf("https /metrics: %d %q", resp.StatusCode, b)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain http answered 200 on a TLS listener")
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
