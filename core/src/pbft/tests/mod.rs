mod checker;
mod decode;
mod replies;
mod scenarios;
mod view_change;
