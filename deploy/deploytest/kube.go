package deploytest

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Object is one rendered Kubernetes object.
type Object map[string]any

// Kustomize renders the kustomization in dir the way `kubectl apply -k`
// does (default options: files only from under dir).
func Kustomize(dir string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []Object
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Kind, Name and Namespace read an object's identity.
func (o Object) Kind() string      { return Str(o, "kind") }
func (o Object) Name() string      { return Str(o, "metadata", "name") }
func (o Object) Namespace() string { return Str(o, "metadata", "namespace") }

// Get walks nested maps (string keys) and lists (int keys).
func Get(v any, path ...any) any {
	if o, ok := v.(Object); ok {
		v = map[string]any(o)
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// Str is Get for a string leaf ("" when absent).
func Str(v any, path ...any) string {
	s, _ := Get(v, path...).(string)
	return s
}

// List is Get for a list (nil when absent).
func List(v any, path ...any) []any {
	l, _ := Get(v, path...).([]any)
	return l
}

// Map is Get for a map (nil when absent).
func Map(v any, path ...any) map[string]any {
	m, _ := Get(v, path...).(map[string]any)
	return m
}
