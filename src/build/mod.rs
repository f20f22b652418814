//! `build`: images from a Dockerfile.
pub mod ignore;
