// Package deploytest checks servebench's deployment artefacts against the
// code and the generated configs they ship with: the compose stack
// (docker-compose.yml, parsed with compose-go, the parser docker compose
// uses), the images under deploy/docker, the kustomize tree under
// deploy/kubernetes (rendered with the kustomize API), the systemd and CI
// recipes, and the Grafana/Prometheus/Alertmanager files they mount.
//
// The package holds tests and the small loaders they share; nothing in it is
// imported by servebench itself. End-to-end tests (TestE2E...) build the FROM
// scratch image against a real dockerd.
package deploytest
