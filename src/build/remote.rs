//! A build context that arrives as a stream (stdin, a URL, the API's
//! request body): a tar unpacked as it streams in, or a lone Dockerfile.

use super::context::Context;
use crate::error::{Error, Result};
use crate::image::store::ImageStore;
use std::io::Read;

pub fn read_all(input: &mut dyn Read) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    input
        .read_to_end(&mut data)
        .map_err(|e| Error::msg(format!("unable to prepare context: {e}")))?;
    Ok(data)
}

/// A context from a stream (stdin, a URL): a tar, unpacked as it streams
/// in, with its Dockerfile (`file`, else Dockerfile or dockerfile) inside;
/// or else the stream is the Dockerfile and the context is empty.
pub fn from_stream(
    images: &ImageStore,
    input: &mut dyn Read,
    file: Option<&str>,
) -> Result<(Context, String, String)> {
    let mut head = Vec::with_capacity(512);
    input
        .take(512)
        .read_to_end(&mut head)
        .map_err(|e| Error::msg(format!("unable to prepare context: {e}")))?;
    if !crate::build::copy::looks_like_archive(&head) {
        head.extend(read_all(input)?);
        let ctx = Context::empty(images.temp_dir()?)?;
        return Ok((ctx, text_of(head)?, "Dockerfile".into()));
    }
    let ctx = Context::from_tar(&mut (&head[..]).chain(input), images.temp_dir()?)?;
    dockerfile_in(ctx, file)
}

/// A remote context with its Dockerfile: `-f` names a file inside it
/// (else Dockerfile, then dockerfile).
pub fn dockerfile_in(ctx: Context, file: Option<&str>) -> Result<(Context, String, String)> {
    let name = file.unwrap_or("Dockerfile").to_string();
    let text = ctx
        .read_file(&name)
        .or_else(|| {
            file.is_none()
                .then(|| ctx.read_file("dockerfile"))
                .flatten()
        })
        .ok_or_else(|| Error::msg(format!("Cannot locate specified Dockerfile: {name}")))?;
    Ok((ctx, text_of(text)?, name))
}

pub fn text_of(data: Vec<u8>) -> Result<String> {
    String::from_utf8(data).map_err(|_| Error::msg("the Dockerfile is not UTF-8 text"))
}
