// Typed Kubernetes API objects (L1). `cdk8s import k8s` needs the internet, so we re-export the
// copy that cdk8s-plus-27 generates and ships for Kubernetes 1.27; the APIs we emit (batch/v1,
// apps/v1, rbac/v1, networking/v1, core/v1) are unchanged since.
export * from 'cdk8s-plus-27/lib/imports/k8s';
