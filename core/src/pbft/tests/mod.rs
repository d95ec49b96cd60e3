mod checker;
mod decode;
mod scenarios;
mod view_change;
