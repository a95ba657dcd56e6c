#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod conf;
pub mod message;
pub mod server;
pub mod session;

pub use conf::{DRIVER_PATH, reader_conf, reader_conf_listening};
pub use message::{Control, Frame, FrameTooLong, MAX_MESSAGE_LEN, Request};
pub use server::{Running, Server, connect};
pub use session::Session;
