#![doc = include_str!("../README.md")]

pub mod demo;
pub mod exit;
pub mod secret_input;
