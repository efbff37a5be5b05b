//! `#[http_trigger]` functions are served on their route with their auth level.

use durafn::host::{HttpHandler, HttpTrigger};
use durafn::prelude::*;

#[http_trigger(route = "status/{id}", methods = ["GET"], auth = "anonymous", name = "get-status-function")]
async fn get_status(req: HttpRequest, _client: DurableHttpClient) -> HttpResponse {
    HttpResponse::new(200).text(format!("job {}", req.route_param("id").unwrap_or("?")))
}

#[http_trigger]
async fn start_job(
    _req: HttpRequest,
    _client: DurableHttpClient,
) -> Result<HttpResponse, std::io::Error> {
    Ok(HttpResponse::new(202))
}

#[test]
fn triggers_carry_their_route_methods_and_auth() {
    assert_eq!(get_status.name(), "get-status-function");
    assert_eq!(
        get_status.trigger(),
        HttpTrigger {
            route: Some("status/{id}".into()),
            methods: vec!["GET".into()],
            auth_level: AuthLevel::Anonymous
        }
    );
    assert_eq!(start_job.name(), "start-job");
    assert_eq!(
        start_job.trigger(),
        HttpTrigger {
            route: None,
            methods: vec![],
            auth_level: AuthLevel::Function
        }
    );
    let _app = App::new().function(get_status).function(start_job);
}
