package collector

import (
	"context"
	"fmt"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/procfs"

	"github.com/servebench/servebench/exporter/contract"
)

// DefaultNetworkExclude matches the interfaces servebench leaves out unless
// told otherwise: Docker's veth pairs, one per container, whose traffic the
// bridge (docker0) and the host's own interfaces already count.
const DefaultNetworkExclude = "^veth"

// Network reports bytes received and sent per interface from /proc/net/dev.
// Loopback is kept by default: a benchmark on one host talks over it.
type Network struct {
	fs       procfs.FS
	exclude  *regexp.Regexp
	receive  *prometheus.Desc
	transmit *prometheus.Desc
}

// NewNetwork returns the network collector; interfaces matching exclude
// (nil: none) are left out.
func NewNetwork(fs procfs.FS, exclude *regexp.Regexp) *Network {
	return &Network{fs: fs, exclude: exclude, receive: desc(contract.HostNetworkReceive), transmit: desc(contract.HostNetworkTransmit)}
}

// Update implements Collector.
func (n *Network) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	dev, err := n.fs.NetDev()
	if err != nil {
		return fmt.Errorf("read net/dev: %w", err)
	}
	for name, line := range dev {
		if n.exclude != nil && n.exclude.MatchString(name) {
			continue
		}
		ch <- prometheus.MustNewConstMetric(n.receive, prometheus.CounterValue, float64(line.RxBytes), name)
		ch <- prometheus.MustNewConstMetric(n.transmit, prometheus.CounterValue, float64(line.TxBytes), name)
	}
	return nil
}
