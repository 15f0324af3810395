//! Lambda functions for the tests: the role every test names, a zip of a Python
//! handler, and CreateFunction of one (`python3.12`, `index.handler`).

use std::io::Write as _;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

/// The execution role the tests' functions name (IAM is not enforced).
pub(crate) const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

/// A zip holding `index.py` with `source`.
pub(crate) fn python_zip(source: &str) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("index.py", options).expect("zip entry");
        zip.write_all(source.as_bytes()).expect("zip write");
        zip.finish().expect("zip finish");
    }
    buffer.into_inner()
}

/// CreateFunction of a Python handler, for the caller to add to and send.
pub(crate) trait CreatePython {
    /// `name` running `source` as `index.py` with `python3.12`, handler
    /// `index.handler`, role [`ROLE`].
    fn create_python(&self, name: &str, source: &str) -> CreateFunctionFluentBuilder;
}

impl CreatePython for Client {
    fn create_python(&self, name: &str, source: &str) -> CreateFunctionFluentBuilder {
        self.create_function()
            .function_name(name)
            .runtime(Runtime::Python312)
            .handler("index.handler")
            .role(ROLE)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(python_zip(source)))
                    .build(),
            )
    }
}
