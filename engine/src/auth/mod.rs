//! PPP authentication: PAP, CHAP-MD5, MS-CHAPv1, MS-CHAPv2.

pub mod mschap_crypto;
