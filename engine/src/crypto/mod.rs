//! The cryptographic primitives under both authentication and MPPE: MS-CHAP's
//! hash functions and RC4. Nothing here knows PPP; `auth` and `mppe` build on it.

pub mod mschap;
pub mod rc4;
