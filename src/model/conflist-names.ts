/**
 * The CNI config file names the migration works with. The runtime (containerd, CRI-O) loads the
 * first file of /etc/cni/net.d in lexical order, so which network a node's new pods get is decided
 * by how these names sort (see ../shared/research/facts.md).
 */

/** Weave's conflist, which must stay first on unswitched nodes. */
export const WEAVE_CONF_NAME = '10-weave.conflist';
/** Name install-cni gives Calico's conflist while Weave runs: it must sort after 10-weave.conflist. */
export const COEXISTENCE_CONF_NAME = '20-calico.conflist';
/** Calico's name once Weave is gone (and the name the Tigera operator requires to adopt it). */
export const FINAL_CONF_NAME = '10-calico.conflist';
/** The copy of Calico's conflist that sorts before Weave's on a switched node. */
export const PRIORITY_CONF_NAME = '05-calico.conflist';
