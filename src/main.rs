fn main() {
    println!("coprod {}", env!("CARGO_PKG_VERSION"));
}
