//! Image config (OCI / docker image JSON).
