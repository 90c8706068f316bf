fn main() {
    squall_gen::Generator::new("specs")
        .include_mode()
        .build_script();
}
