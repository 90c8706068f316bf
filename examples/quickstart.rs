//! The README's first two examples, compiled by CI (`cargo test --examples` builds every
//! example; tests/readme.rs checks the README still shows this code). Run against a cloud:
//! `OS_CLOUD=squall cargo run --example quickstart`.

#![allow(dead_code)]

mod two_lines {
    use squall::prelude::*; // the typed accessors: clients.compute().keypairs(), ...

    async fn demo() -> Result<(), Box<dyn std::error::Error>> {
        let clients = squall::runtime::CloudConfig::load()?.builder()?.build()?;
        let keypairs = clients.compute().keypairs().await?;
        let listed = keypairs.list_keypairs(None).await?;
        println!("answered at {:?}: {:?}", listed.version, listed.body);
        Ok(())
    }

    /// Runs [`demo`].
    pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
        demo().await
    }
}

mod typed_bodies {
    use squall::clients::compute::keypairs::{CreateKeypairRequest, CreateKeypairResponse};
    use squall::clients::compute::types;
    use squall::prelude::*;

    async fn demo(clients: ServiceClients) -> Result<(), Box<dyn std::error::Error>> {
        let keypairs = clients
            .compute()
            .with_microversion(ApiVersion::at(2, 2))
            .keypairs()
            .await?;
        let mut keypair = types::CreateKeypairRequestKeypairV2_2::new("demo");
        keypair.type_ = Some(types::CreateKeypairRequestKeypairTypeV2_2::Ssh);
        let body = CreateKeypairRequest::V2_2(types::CreateKeypairRequestV2_2 { keypair });
        let created = keypairs.create_keypair(&body).await?;
        match created.body {
            CreateKeypairResponse::V2_2(kp) => {
                println!("{} is a {} key", kp.keypair.name, kp.keypair.type_)
            }
            other => println!("answered {:?}: {other:?}", created.version),
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    two_lines::run().await
}
