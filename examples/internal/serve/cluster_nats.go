package serve

import (
	"errors"
	"io"
	"log/slog"
)

// openNATS is filled in once hub/natsbroker is on main.
func (cl *Cluster) openNATS(c *ClusterFlags, out io.Writer, logger *slog.Logger) error {
	return errors.New("serve: nats is not available yet")
}
